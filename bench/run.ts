// `npm run bench [-- --quick] [-- --only=1,3] [-- --profile]`: nbdhub beside the bare tools,
// every figure with its baseline in the same run. Starts its own embedded PostgreSQL and its
// own server (`next start` on the built app) in a temporary folder, with a port range of its
// own; writes bench/results/<date>.json and prints one table. Run through scripts/bench.mjs,
// which does `npm start`'s set-up and build first.
//
//   node --conditions=react-server --import tsx bench/run.ts [--quick] [--only=1,2] [--profile]
// First: under `--import tsx`, helpers that import execa (an ESM-only dependency) need this.
import "../tests/chaos/esm-only-packages";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, copyFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { Ctx, FigureResult, Row } from "./common/context";
import { machine } from "./common/machine";
import { freeBlock } from "./common/ports";
import { embeddedUrl, stopLeftoverPostgres } from "./common/postgres";
import { endChildren, killByMarker } from "./common/procs";
import { summariseProfiles, type ProfileSummary } from "./common/profile";
import { startBenchServer, type BenchServer } from "./common/server";
import { formatTable, markdownTable } from "./common/table";
import { dataPath } from "./fig1-data-path";
import { exportStart } from "./fig2-export-start";
import { scale } from "./fig3-scale";
import { allocation } from "./fig4-allocation";
import { history } from "./fig5-history";
import { manyJobs } from "./fig6-many-jobs";
import { incremental } from "./fig7-incremental";
import { restoreCopy } from "./fig8-restore";
import { exportStartTls } from "./fig9-export-start-tls";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const profile = args.includes("--profile");
const onlyArg = args.find((a) => a.startsWith("--only="));
const only = onlyArg ? new Set(onlyArg.slice("--only=".length).split(",").map(Number)) : null;
const dist = process.env.NBDHUB_NEXT_DIST || ".next";
const say = (m: string) => process.stdout.write(`[bench] ${m}\n`);

// Execution order: quick, light figures first; the 100,000-job history last so the big
// tables do not sit under the other figures.
const FIGURES: { n: number; name: string; fn: (ctx: Ctx) => Promise<FigureResult> }[] = [
  { n: 2, name: "export start latency", fn: exportStart },
  { n: 9, name: "export start with TLS", fn: exportStartTls },
  { n: 3, name: "scale", fn: scale },
  { n: 4, name: "allocation under contention", fn: allocation },
  { n: 1, name: "data path", fn: dataPath },
  { n: 8, name: "restore by copy", fn: restoreCopy },
  { n: 6, name: "many jobs at once", fn: manyJobs },
  { n: 7, name: "incremental beside full", fn: incremental },
  { n: 5, name: "history", fn: history },
];

let root = "";
let server: BenchServer | undefined;
/** Servers that figures started besides the run's own (ctx.startServer), by data folder. */
const others = new Map<string, BenchServer | undefined>();
let pool: pg.Pool | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (server) {
      const code = await server.stop().catch((error: Error) => say(error.message));
      if (typeof code === "number" && code !== 0 && code !== 143) say(`the server exited with ${code}`);
    }
    for (const [dataDir, other] of others) {
      await other?.stop().catch((error: Error) => say(error.message));
      if (await stopLeftoverPostgres(dataDir)) say(`stopped the embedded PostgreSQL left running in ${dataDir}`);
    }
    await endChildren();
    if (root) {
      const killed = await killByMarker(root);
      if (killed) say(`killed ${killed} process(es) left behind`);
    }
    await pool?.end().catch(() => undefined);
    if (root && (await stopLeftoverPostgres(path.join(root, "data"))))
      say("stopped the embedded PostgreSQL the server left running");
    if (root && !args.includes("--keep")) await rm(root, { recursive: true, force: true }).catch(() => undefined);
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    say(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}

async function main(): Promise<number> {
  if (!existsSync(path.join(repo, dist, "BUILD_ID")))
    throw new Error(`no build in ${dist}: run \`npm run bench\` (it builds), or next build`);
  const began = Date.now();
  root = await mkdtemp(path.join(os.tmpdir(), "nbdhub-bench-"));
  await chmod(root, 0o755); // the embedded Postgres runs as the postgres user
  say(`${quick ? "quick run" : "full run"} in ${root}`);
  const n = quick ? 20 : 100;
  const bareSize = Math.max(n, 32) + 2;
  const range = await freeBlock(n + bareSize + 1);
  const portRange = { min: range.min, max: range.min + n - 1 };
  const barePorts = { min: range.min + n, max: range.max - 1 };
  const httpPort = range.max;
  const profDir = path.join(root, "prof");
  say(
    `starting the server (${dist}, NBD ports ${portRange.min}-${portRange.max}, bare ports ${barePorts.min}-${barePorts.max})`,
  );
  server = await startBenchServer({
    root: repo,
    dataDir: path.join(root, "data"),
    httpPort,
    portRange,
    nodeArgs: profile ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [],
  });
  pool = new pg.Pool({ connectionString: embeddedUrl(server.dataDir), max: 4 });
  pool.on("error", () => undefined); // an idle connection cut when the server stops Postgres
  const pgVersion = (await pool.query<{ v: string }>("SHOW server_version")).rows[0].v;
  const bareDir = path.join(root, "bare");
  await mkdir(path.join(bareDir, "run"), { recursive: true });
  const startServer: Ctx["startServer"] = async ({ name, env, nbdPorts }) => {
    let block = await freeBlock(nbdPorts + 1);
    while (block.min <= range.max && block.max >= range.min) block = await freeBlock(nbdPorts + 1);
    const dataDir = path.join(root, name, "data");
    others.set(dataDir, undefined);
    say(`starting a second server "${name}" (NBD ports ${block.min}-${block.max - 1})`);
    const other = await startBenchServer({
      root: repo,
      dataDir,
      httpPort: block.max,
      portRange: { min: block.min, max: block.max - 1 },
      env,
    });
    others.set(dataDir, other);
    return other;
  };
  const ctx: Ctx = { quick, root, server, db: pool, bareDir, barePorts, startServer, log: say };
  const info = await machine(pgVersion);
  say(
    `machine: ${info.nproc} CPUs, ${info.memoryGiB} GiB, kernel ${info.kernel}, load ${info.loadAverageAtStart.join(" ")}`,
  );

  const rows: Row[] = [];
  const data: Record<string, unknown> = {};
  const failures: string[] = [];
  for (const fig of FIGURES) {
    if (only && !only.has(fig.n)) continue;
    const t = Date.now();
    say(`figure ${fig.n}: ${fig.name}`);
    try {
      const result = await fig.fn(ctx);
      rows.push(...result.rows);
      data[`figure${fig.n}`] = { ...result.data, seconds: (Date.now() - t) / 1000 };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`figure ${fig.n}: ${message}`);
      say(`figure ${fig.n} FAILED: ${message}`);
      rows.push({
        figure: `${fig.n} ${fig.name}`,
        metric: "FAILED",
        nbdhub: null,
        baseline: null,
        baselineName: "",
        unit: "",
        note: message.slice(0, 80),
      });
      await endChildren("tools");
      await killByMarker(path.join(root, "bare"));
    }
  }
  for (const r of rows)
    if (r.ratio === undefined)
      r.ratio = r.nbdhub !== null && r.baseline !== null && r.baseline !== 0 ? r.nbdhub / r.baseline : null;
  rows.sort((a, b) => Number(a.figure.split(" ")[0]) - Number(b.figure.split(" ")[0]));

  const loadAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const stamp = new Date(began).toISOString().slice(0, 19).replace(/:/g, "") + "Z";
  const resultsDir = path.join(repo, "bench", "results");
  await mkdir(resultsDir, { recursive: true });
  // The server writes its CPU profile when it exits: stop it first, then read the profile.
  await server.stop().catch((error: Error) => say(error.message));
  let profileSummary: ProfileSummary | null = null;
  if (profile) {
    profileSummary = await summariseProfiles(profDir, 20, server.startMs);
    for (const f of (await readdir(profDir).catch(() => [])).filter((x) => x.endsWith(".cpuprofile"))) {
      await copyFile(path.join(profDir, f), path.join(resultsDir, `${stamp}-server-${f}`));
    }
  }
  await cleanup();
  const results = {
    date: new Date(began).toISOString(),
    mode: quick ? "quick" : "full",
    only: only ? [...only] : null,
    durationSeconds: (Date.now() - began) / 1000,
    machine: { ...info, loadAverageAtEnd: loadAtEnd },
    table: rows,
    failures,
    figures: data,
    profile: profileSummary,
    markdown: markdownTable(rows),
  };
  const file = path.join(resultsDir, `${stamp}${quick ? "-quick" : ""}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${formatTable(rows)}\n`);
  const f1 = data.figure1 as
    | {
        medianPhasesMs?: Record<string, number>;
        medianByHandMs?: Record<string, number>;
        medianBareMs?: Record<string, number>;
      }
    | undefined;
  if (f1?.medianPhasesMs) {
    say("figure 1, where nbdhub's backup time goes (medians, ms; from the job's events and the server log):");
    for (const [phase, ms] of Object.entries(f1.medianPhasesMs))
      say(`  ${phase.padEnd(52)} ${ms.toFixed(0).padStart(6)}`);
    const b = f1.medianBareMs ?? {};
    const h = f1.medianByHandMs ?? {};
    say(
      `  bare: create ${b.createMs?.toFixed(0)}, qemu-nbd start ${b.startMs?.toFixed(0)}, nbdcopy ${b.copyMs?.toFixed(0)}, stop ${b.stopMs?.toFixed(0)}; by hand: qemu-img map ${h.map?.toFixed(0)}, check ${h.check?.toFixed(0)}, compare ${h.compare?.toFixed(0)}`,
    );
  }
  if (profileSummary) {
    say(
      `server CPU profile (after its start): main thread busy ${(profileSummary.busyMs / 1000).toFixed(1)} s of ${(profileSummary.sampledMs / 1000).toFixed(1)} s`,
    );
    for (const a of profileSummary.byArea.slice(0, 8))
      say(`  ${a.area.padEnd(40)} ${String(a.ms).padStart(7)} ms  ${a.percentOfBusy}%`);
    for (const f of profileSummary.topFunctions.slice(0, 12))
      say(`  ${f.fn.slice(0, 40).padEnd(40)} ${String(f.ms).padStart(7)} ms  ${f.percentOfBusy}%  ${f.where}`);
  }
  say(
    `machine: ${info.nproc} CPUs, ${info.memoryGiB} GiB, ${info.kernel}, ${info.qemu}, ${info.libnbd}; load ${info.loadAverageAtStart.join(" ")} → ${loadAtEnd.join(" ")}`,
  );
  say(`results: ${path.relative(repo, file)} (${results.durationSeconds.toFixed(0)} s)`);
  if (failures.length) say(`${failures.length} figure(s) failed`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (server) say(`server log tail:\n${server.logTail(20)}`);
    await cleanup();
    process.exit(1);
  },
);
