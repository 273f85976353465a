// The real console for the benchmark: `next start` on the built app (the build in
// NBDHUB_NEXT_DIST, or .next), like tests/helpers/server.ts, but against the benchmark's own
// port range and data folder (where, DATABASE_URL being unset as for `npm start`, it runs its
// embedded PostgreSQL), with its log in a file (not in this process's memory).
import { openSync, closeSync, readFileSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import path from "node:path";
import { spawnTracked, type Exit } from "./procs";
import { sleep } from "./stats";

export const BENCH_TOKEN = "bench-bootstrap-token-0123456789abcdef0123456789";

export type ApiAnswer<T> = { status: number; body: T };

export type BenchServer = {
  url: string;
  pid: number;
  dataDir: string;
  repositoryDir: string;
  sourcesDir: string;
  runDir: string;
  portRange: { min: number; max: number };
  logFile: string;
  /** ms from spawn to the first healthy answer. */
  startMs: number;
  api<T = Record<string, unknown>>(method: string, pathname: string, body?: unknown): Promise<ApiAnswer<T>>;
  logTail(lines?: number): string;
  /** Wait for a backup job to end: its server-sent event stream's `end` (what the console watches). */
  waitForJobEnd(id: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<Exit>;
};

export async function startBenchServer(opts: {
  root: string;
  dataDir: string;
  httpPort: number;
  portRange: { min: number; max: number };
  env?: Record<string, string>;
  /** Node options for the server process (e.g. --cpu-prof, which NODE_OPTIONS may not carry). */
  nodeArgs?: string[];
}): Promise<BenchServer> {
  const root = opts.root;
  await mkdir(opts.dataDir, { recursive: true });
  await chmod(opts.dataDir, 0o755);
  const logFile = path.join(path.dirname(opts.dataDir), "server.log");
  const fd = openSync(logFile, "a");
  const { DATABASE_URL: _ignored, ...inherited } = process.env as Record<string, string>;
  const env: Record<string, string> = {
    ...inherited,
    NBDHUB_DATA_DIR: opts.dataDir,
    NBDHUB_PORT_RANGE: `${opts.portRange.min}-${opts.portRange.max}`,
    NBDHUB_BOOTSTRAP_TOKEN: BENCH_TOKEN,
    NBDHUB_DEMO_SOURCES: "0",
    NBDHUB_MAX_PARALLEL_DISKS: "4",
    ...(opts.env ?? {}),
    NEXT_MANUAL_SIG_HANDLE: "true",
    NEXT_TELEMETRY_DISABLED: "1",
    PORT: String(opts.httpPort),
    HOST: "127.0.0.1",
  };
  const nextArgs = ["start", "-H", "127.0.0.1", "-p", String(opts.httpPort)];
  const [cmd, args] = opts.nodeArgs?.length
    ? [process.execPath, [...opts.nodeArgs, path.join(root, "node_modules", "next", "dist", "bin", "next"), ...nextArgs]]
    : [path.join(root, "node_modules", ".bin", "next"), nextArgs];
  const { child, exited } = spawnTracked(cmd, args, {
    cwd: root,
    env: env as NodeJS.ProcessEnv,
    stdio: ["ignore", fd, fd],
  }, "server");
  closeSync(fd);
  if (child.pid === undefined) throw new Error("could not spawn next start");
  const url = `http://127.0.0.1:${opts.httpPort}`;
  const logTail = (lines = 30) => {
    try {
      return readFileSync(logFile, "utf8").trim().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  };
  const api: BenchServer["api"] = async (method, pathname, body) => {
    const response = await fetch(`${url}/api/v1${pathname}`, {
      method,
      headers: { authorization: `Bearer ${BENCH_TOKEN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
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
  let exitInfo: Exit | undefined;
  let stopping = false;
  void exited.then((e) => {
    exitInfo = e;
    if (!stopping) process.stdout.write(`[bench] THE SERVER EXITED UNEXPECTEDLY (${e.signal ?? `exit ${e.code}`}); its log: ${logFile}\n`);
  });
  const spawnedAt = performance.now();
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (exitInfo) throw new Error(`the server exited (${exitInfo.signal ?? exitInfo.code}) before it was healthy:\n${logTail()}`);
    const r = await fetch(`${url}/api/v1/health`).catch(() => undefined);
    if (r?.status === 200) break;
    if (Date.now() > deadline) {
      stopping = true;
      child.kill("SIGKILL");
      throw new Error(`the server did not become healthy within 180 s:\n${logTail()}`);
    }
    await sleep(100);
  }
  return {
    url,
    pid: child.pid,
    dataDir: opts.dataDir,
    repositoryDir: path.join(opts.dataDir, "repository"),
    sourcesDir: path.join(opts.dataDir, "sources"),
    runDir: path.join(opts.dataDir, "run"),
    portRange: opts.portRange,
    logFile,
    startMs: performance.now() - spawnedAt,
    api,
    logTail,
    async waitForJobEnd(id, timeoutMs = 600_000) {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), timeoutMs);
      try {
        const response = await fetch(`${url}/api/v1/backups/${id}/events`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` }, signal: abort.signal });
        if (response.status !== 200 || !response.body) throw new Error(`GET /backups/${id}/events answered ${response.status}`);
        const decoder = new TextDecoder();
        const reader = response.body.getReader();
        let text = "";
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text = (text + decoder.decode(value, { stream: true })).slice(-4096);
          if (/(^|\n)event: end\n/.test(text)) return;
        }
        throw new Error(`the event stream of job ${id} closed without an end`);
      } finally {
        clearTimeout(timer);
        abort.abort();
      }
    },
    async stop() {
      if (exitInfo) return exitInfo;
      stopping = true;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
}
