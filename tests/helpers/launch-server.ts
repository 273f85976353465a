// The one launcher of the real console for the tests, the benchmark and the fault campaign:
// `next start` on the built app (the build in NBDHUB_NEXT_DIST, or .next) with a given
// environment, data directory, port and log sink. It waits for /api/v1/health with a deadline,
// and stops the server the way its users do (SIGTERM, which the app handles itself), killing
// it after a deadline and saying so: a server that does not stop is a bug to report, not a
// run to hang. Each caller keeps its own policy (tokens, databases, retries) in a thin wrapper:
// tests/helpers/server.ts, bench/common/server.ts, tests/chaos/environment.ts.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import { apiClient, type ApiClient } from "./api-client";
import { waitFor, withDeadline } from "./wait";
import { nextStartCommand, SERVER_ENV } from "../../scripts/next-start.mjs";

export type ServerExit = { code: number | null; signal: NodeJS.Signals | null };

/** Where the server's stdout and stderr go: kept in this process's memory, or appended to a file. */
export type LogSink = "memory" | { file: string };

export type LaunchOptions = {
  /**
   * The repository: its node_modules/next and its build. Passed in because this module cannot
   * find it itself everywhere (under tsx's ESM loader, used by the benchmark, `__dirname` is
   * not this file's folder).
   */
  root: string;
  /** Created when missing, and made enterable by the `postgres` user the embedded PostgreSQL runs as. */
  dataDir: string;
  port: number;
  /** The address to listen on (default 127.0.0.1). A wildcard one is called on loopback. */
  host?: string;
  /** NBDHUB_BOOTSTRAP_TOKEN, unless `env` names another; api() and waitForJobEnd() send it. */
  token: string;
  /** Settings on top of this process's environment (and of the defaults below). */
  env?: Record<string, string>;
  /** Variables of this process's environment the server must not inherit (the benchmark's DATABASE_URL). */
  dropInherited?: string[];
  /** Default "memory". */
  log?: LogSink;
  /** Node options for the server process (e.g. --cpu-prof, which NODE_OPTIONS may not carry). */
  nodeArgs?: string[];
  /**
   * What to run instead of `next start` in `root` (the standalone folder's start command): the
   * same environment, health wait and stop. `nodeArgs` do not apply to it.
   */
  command?: { file: string; args: string[]; cwd: string };
  /** spawn() to use instead of node's, e.g. one that tracks the child for a clean-up. */
  spawn?: (command: string, args: string[], options: SpawnOptions) => ChildProcess;
  /** Default true; false returns at once (for a server expected to refuse to start). */
  waitHealthy?: boolean;
  /** Default 60 s. */
  healthTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before it kills the server; default 60 s. */
  stopGraceMs?: number;
  /** Called when the server exits without stop() or kill() (a crash). */
  onUnexpectedExit?: (exit: ServerExit) => void;
};

export type LaunchedServer = ApiClient & {
  url: string;
  port: number;
  dataDir: string;
  /** The settings it was started with, beyond what it inherited. */
  env: Record<string, string>;
  process: ChildProcess;
  /** Resolves when the process exits (also when it could not be spawned: both fields null). */
  exited: Promise<ServerExit>;
  /** ms from the spawn to the first healthy answer (NaN when not waited for). */
  startMs: number;
  alive(): boolean;
  /** Everything it wrote so far (stdout and stderr). */
  output(): string;
  logTail(lines?: number): string;
  /**
   * SIGTERM and wait for the exit code (null: it ended by a signal). After `graceMs` (default:
   * the launch's stopGraceMs) it is killed, and stop() rejects saying so, with the log's tail.
   */
  stop(options?: { graceMs?: number }): Promise<number | null>;
  /** SIGKILL, no clean-up (a crash): what it started keeps running. */
  kill(): Promise<void>;
};

const KILL_DEADLINE_MS = 10_000;

export async function launchServer(options: LaunchOptions): Promise<LaunchedServer> {
  const { root, dataDir, port, host = "127.0.0.1", token, log = "memory" } = options;
  await mkdir(dataDir, { recursive: true });
  await chmod(dataDir, 0o755);

  const inherited: NodeJS.ProcessEnv = { ...process.env };
  for (const name of options.dropInherited ?? []) delete inherited[name];
  const env: Record<string, string> = {
    // No demo images: a harness brings its own sources.
    NBDHUB_DEMO_SOURCES: "0",
    NBDHUB_BOOTSTRAP_TOKEN: token,
    // No space kept free: a harness's repository is small or shares /tmp; a test of the reserve
    // sets its own.
    NBDHUB_REPOSITORY_RESERVE: "0",
    ...options.env,
    NBDHUB_DATA_DIR: dataDir,
    // The app's own SIGTERM handler runs the ordered shutdown (exports, then Postgres).
    NEXT_MANUAL_SIG_HANDLE: "true",
    NEXT_TELEMETRY_DISABLED: "1",
    PORT: String(port),
    HOST: host,
  };

  // As `npm start`: the same Node options and keep-alive (scripts/next-start.mjs), unless the
  // caller runs another command (the standalone folder's).
  const [command, args] = options.command
    ? [options.command.file, options.command.args]
    : nextStartCommand(root, host, port, options.nodeArgs ?? []);
  const logFd = log === "memory" ? undefined : openSync(log.file, "a");
  const child = (options.spawn ?? spawn)(command, args, {
    cwd: options.command?.cwd ?? root,
    // As `npm start`: the server's malloc settings, under what this process has itself.
    env: { ...SERVER_ENV, ...inherited, ...env },
    // A file sink is the child's own descriptor: the log outlives this process's memory.
    stdio: logFd === undefined ? ["ignore", "pipe", "pipe"] : ["ignore", logFd, logFd],
  });
  if (logFd !== undefined) closeSync(logFd);
  const spawnedAt = performance.now();

  let memory = "";
  child.stdout?.on("data", (d: Buffer) => (memory += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (memory += d.toString()));
  const output = () => {
    if (log === "memory") return memory;
    try {
      return readFileSync(log.file, "utf8");
    } catch {
      return "";
    }
  };
  const logTail = (lines = 60) => output().trimEnd().split("\n").slice(-lines).join("\n");

  let expectingExit = false;
  const exited = new Promise<ServerExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    child.once("error", (error) => {
      memory += `\ncould not run ${command}: ${error.message}\n`;
      resolve({ code: null, signal: null });
    });
  });
  // 'exit' can come before the last of the output has been read: a report waits for the pipes to
  // close too (briefly: something the server started may hold them).
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const settledTail = async () => {
    await withDeadline(closed, 2_000, "the server's output to end").catch(() => undefined);
    return logTail();
  };
  void exited.then((exit) => {
    if (!expectingExit) options.onUnexpectedExit?.(exit);
  });
  const alive = () => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  const describeExit = (e: ServerExit) => (e.signal ? `signal ${e.signal}` : `exit code ${e.code}`);
  const killAndWait = async () => {
    expectingExit = true;
    if (alive()) child.kill("SIGKILL");
    await withDeadline(exited, KILL_DEADLINE_MS, "the server to exit after SIGKILL");
  };

  // A wildcard address is listened on, not called: call loopback then.
  const callHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const url = `http://${callHost.includes(":") ? `[${callHost}]` : callHost}:${port}`;

  const server: LaunchedServer = {
    ...apiClient(url, env.NBDHUB_BOOTSTRAP_TOKEN),
    url,
    port,
    dataDir,
    env,
    process: child,
    exited,
    startMs: Number.NaN,
    alive,
    output,
    logTail,
    async stop({ graceMs = options.stopGraceMs ?? 60_000 } = {}) {
      expectingExit = true;
      if (!alive()) return child.exitCode;
      child.kill("SIGTERM");
      try {
        return (await withDeadline(exited, graceMs, "the server to shut down after SIGTERM")).code;
      } catch (error) {
        await killAndWait();
        const tail = await settledTail();
        throw new Error(`${(error as Error).message}; it was killed\n--- server output (tail) ---\n${tail}`);
      }
    },
    async kill() {
      await killAndWait();
    },
  };

  if (options.waitHealthy ?? true) {
    const timeoutMs = options.healthTimeoutMs ?? 60_000;
    try {
      const state = await waitFor(
        async () => {
          if (!alive()) return "exited";
          const health = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(5_000) }).catch(
            () => undefined,
          );
          return health?.status === 200 ? "healthy" : undefined;
        },
        { timeoutMs, intervalMs: 100, what: `the server on ${url} to be healthy` },
      );
      if (state === "exited") {
        throw new Error(`the server exited (${describeExit(await exited)}) before it was healthy`);
      }
    } catch (error) {
      await killAndWait();
      throw new Error(`${(error as Error).message}\n--- server output (tail) ---\n${await settledTail()}`);
    }
    server.startMs = performance.now() - spawnedAt;
  }
  return server;
}
