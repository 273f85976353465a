// The real console for the benchmark (tests/helpers/launch-server.ts), against the benchmark's
// own port range and data folder (where, DATABASE_URL being dropped as for `npm start`, it
// runs its embedded PostgreSQL), with its log in a file beside the data folder (not in this
// process's memory), spawned as a tracked child so that the benchmark's clean-up ends it too.
import path from "node:path";
import { launchServer, type LaunchedServer } from "../../tests/helpers/launch-server";
import { spawnTracked } from "./procs";

export const BENCH_TOKEN = "bench-bootstrap-token-0123456789abcdef0123456789";

export type BenchServer = LaunchedServer & {
  pid: number;
  repositoryDir: string;
  sourcesDir: string;
  runDir: string;
  portRange: { min: number; max: number };
  logFile: string;
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
  const logFile = path.join(path.dirname(opts.dataDir), "server.log");
  const server = await launchServer({
    root: opts.root,
    dataDir: opts.dataDir,
    port: opts.httpPort,
    token: BENCH_TOKEN,
    env: {
      NBDHUB_PORT_RANGE: `${opts.portRange.min}-${opts.portRange.max}`,
      NBDHUB_MAX_PARALLEL_DISKS: "4",
      ...opts.env,
    },
    dropInherited: ["DATABASE_URL"],
    log: { file: logFile },
    nodeArgs: opts.nodeArgs,
    spawn: (command, args, options) => spawnTracked(command, args, options, "server").child,
    // The first start initialises a PostgreSQL cluster on a loaded machine.
    healthTimeoutMs: 180_000,
    stopGraceMs: 30_000,
    onUnexpectedExit: (e) => {
      const how = e.signal ?? `exit ${e.code}`;
      process.stdout.write(`[bench] THE SERVER EXITED UNEXPECTEDLY (${how}); its log: ${logFile}\n`);
    },
  });
  return {
    ...server,
    pid: server.process.pid!,
    repositoryDir: path.join(opts.dataDir, "repository"),
    sourcesDir: path.join(opts.dataDir, "sources"),
    runDir: path.join(opts.dataDir, "run"),
    portRange: opts.portRange,
    logFile,
  };
}
