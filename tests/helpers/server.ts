// Starts the real console for a test (tests/helpers/launch-server.ts), with its own data
// directory and HTTP port unless the test names them, the test token, and its log kept in
// memory (never silenced, even when NBDHUB_LOG=silent is inherited: tests read it), and waits
// until /api/v1/health answers ok.
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { launchServer, type LaunchedServer } from "./launch-server";
import { freePort } from "./ports";

export type TestServer = LaunchedServer;

export type StartOptions = {
  waitHealthy?: boolean;
  port?: number;
  /** The address to listen on and call (a non-loopback one makes the test a remote client). */
  host?: string;
};

const root = path.resolve(__dirname, "../..");

/** Every test server's admin token (NBDHUB_BOOTSTRAP_TOKEN) unless `env` names another; `api()` sends it. */
export const TEST_TOKEN = "test-bootstrap-token-0123456789abcdef0123456789";

export async function startServer(
  env: Record<string, string>,
  { waitHealthy, port, host }: StartOptions = {},
): Promise<TestServer> {
  return launchServer({
    root,
    dataDir: env.NBDHUB_DATA_DIR || (await mkdtemp(path.join(os.tmpdir(), "nbdhub-test-data-"))),
    port: port ?? (await freePort()),
    host,
    token: env.NBDHUB_BOOTSTRAP_TOKEN ?? TEST_TOKEN,
    env: { NBDHUB_LOG: "", ...env },
    waitHealthy,
  });
}
