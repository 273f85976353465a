// Starts the real console (`next start` on the built app) for a test, with its own database,
// data directory and port range, and waits until /api/v1/health answers ok.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort } from "./ports";
import { waitFor, withDeadline } from "./wait";

export type TestServer = {
  url: string;
  port: number;
  dataDir: string;
  env: Record<string, string>;
  process: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, no cleanup (a crash). */
  kill(): Promise<void>;
  api<T = unknown>(method: string, pathname: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T }>;
};

const root = path.resolve(__dirname, "../..");

/** Every test server has this admin token (NBDHUB_BOOTSTRAP_TOKEN); `api()` sends it. */
export const TEST_TOKEN = "test-bootstrap-token-0123456789abcdef0123456789";

export async function startServer(
  env: Record<string, string>,
  {
    waitHealthy = true,
    port: wantedPort,
    host = "127.0.0.1",
  }: {
    waitHealthy?: boolean;
    port?: number;
    /** The address to listen on and call (a non-loopback one makes the test a remote client). */
    host?: string;
  } = {},
): Promise<TestServer> {
  const port = wantedPort ?? (await freePort());
  const dataDir = env.NBDHUB_DATA_DIR || (await mkdtemp(path.join(os.tmpdir(), "nbdhub-test-data-")));
  await chmod(dataDir, 0o755);
  const fullEnv: Record<string, string> = {
    NBDHUB_DATA_DIR: dataDir,
    NBDHUB_DEMO_SOURCES: "0",
    NBDHUB_BOOTSTRAP_TOKEN: TEST_TOKEN,
    NBDHUB_LOG: "",
    ...env,
    NEXT_MANUAL_SIG_HANDLE: "true",
    NEXT_TELEMETRY_DISABLED: "1",
    PORT: String(port),
    HOST: host,
  };
  let output = "";
  const child = spawn(path.join(root, "node_modules", ".bin", "next"), ["start", "-H", host, "-p", String(port)], {
    cwd: root,
    env: { ...process.env, ...fullEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d) => (output += d.toString()));
  child.stderr?.on("data", (d) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  // A wildcard address is listened on, not called: call loopback then.
  const callHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const url = `http://${callHost.includes(":") ? `[${callHost}]` : callHost}:${port}`;
  const api: TestServer["api"] = async (method, pathname, body, headers = {}) => {
    const response = await fetch(`${url}/api/v1${pathname}`, {
      method,
      headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), authorization: `Bearer ${fullEnv.NBDHUB_BOOTSTRAP_TOKEN}`, ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: response.status, body: parsed as never };
  };
  const server: TestServer = {
    url,
    port,
    dataDir,
    env: fullEnv,
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      // A server that does not shut down is a bug to report, not a test to hang.
      return withDeadline(exited, 60_000, "the server to shut down after SIGTERM").catch(async (error: Error) => {
        child.kill("SIGKILL");
        await withDeadline(exited, 10_000, "the server to exit after SIGKILL");
        throw new Error(`${error.message}\n--- server output ---\n${output.slice(-4000)}`);
      });
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
    api,
  };
  if (waitHealthy) {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
        const r = await fetch(`${url}/api/v1/health`).catch(() => undefined);
        return r?.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `the server on ${url} to be healthy` },
    ).catch((error) => {
      child.kill("SIGKILL");
      throw new Error(`${(error as Error).message}\n--- server output ---\n${output}`);
    });
  }
  return server;
}
