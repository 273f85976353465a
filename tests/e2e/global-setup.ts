// Starts the real console for the browser tests, as `npm start` would: its own embedded
// PostgreSQL under a fresh data directory, demo sources, real qemu-nbd.
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startServer } from "../helpers/server";

export const E2E_STATE = path.join(os.tmpdir(), `nbdhub-e2e-${process.env.NBDHUB_E2E_PORT}.json`);

export default async function globalSetup() {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-e2e-"));
  await chmod(dataDir, 0o755);
  const server = await startServer(
    { NBDHUB_DATA_DIR: dataDir, NBDHUB_DEMO_SOURCES: "1", NBDHUB_BOOTSTRAP_TOKEN: process.env.NBDHUB_E2E_TOKEN ?? "e2e-bootstrap-token-0123456789abcdef0123", NBDHUB_POOL_SAMPLE_SECONDS: "1" },
    { port: Number(process.env.NBDHUB_E2E_PORT) },
  );
  writeFileSync(E2E_STATE, JSON.stringify({ pid: server.process.pid, dataDir }));
  // Returned function = teardown: keep the server's log as an artifact, then SIGTERM it.
  return async () => {
    mkdirSync(path.resolve(__dirname, "../artifacts"), { recursive: true });
    writeFileSync(path.resolve(__dirname, "../artifacts/e2e-server.log"), server.output());
    await server.stop();
  };
}
