// Where an incremental's time goes (issue 13's time goal), step by step: figure 7's set-up (a
// qcow2 of random data, 5 % changed in scattered 64 KiB writes, a full then an incremental of
// it through the API, same run), with every job's event log (Postgres), the server's log lines
// and every child process the server ran (strace -f of execve only, through seccomp-bpf, so
// the server is stopped on nothing else) put on one time line from the job's createdAt.
// Prints, per job: the time line, the children (command, start, duration) and the ratio of the
// incremental's job time to the full's. Run through Vitest (bench/run.ts does not load
// tests/helpers on this tree: docs/benchmarks.md), on a built app:
//
//   INCR_SIZE_MIB=1024 INCR_ROUNDS=3 INCR_STRACE=1 [INCR_APP_ROOT=/other/checkout] \
//     npx vitest run --config bench/diagnostics/vitest.config.mts incremental-steps
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { it } from "vitest";
import { makeImage } from "../../tests/helpers/images";
import { launchServer, type LaunchedServer } from "../../tests/helpers/launch-server";
import { freePort, freePortRange } from "../../tests/helpers/ports";
import { waitFor } from "../../tests/helpers/wait";
import { embeddedUrl } from "../common/postgres";
import { median } from "../common/stats";
import { changeFivePercent, runJob, seconds, type JobView } from "../fig7-incremental";

const MiB = 1024 * 1024;
const TOKEN = "bench-bootstrap-token-0123456789abcdef0123456789";
const sizeMiB = Number(process.env.INCR_SIZE_MIB ?? 1024);
const rounds = Number(process.env.INCR_ROUNDS ?? 3);
const traced = process.env.INCR_STRACE === "1";
const out = (line: string) => process.stdout.write(`${line}\n`);

type Child = { pid: number; argv: string[]; start: number; end: number | null };

/** execve and exit lines of `strace -f -ttt -e trace=execve`: one Child per pid that exec'd. */
function childrenOf(straceFile: string): Child[] {
  if (!existsSync(straceFile)) return [];
  const byPid = new Map<number, Child>();
  for (const line of readFileSync(straceFile, "utf8").split("\n")) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [pid, at, rest] = [Number(m[1]), Number(m[2]) * 1000, m[3]];
    const exec = /^execve\("[^"]*", \[(.*?)\](?:, .*)? = 0$/.exec(rest);
    if (exec) {
      const argv = [...exec[1].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) => a[1]);
      byPid.set(pid, { pid, argv, start: byPid.get(pid)?.start ?? at, end: null });
      continue;
    }
    // A fork that has not exec'd yet shows no execve: its start is that of its exec.
    if (/^\+\+\+ (exited|killed)/.test(rest)) {
      const child = byPid.get(pid);
      if (child) child.end = at;
    }
  }
  return [...byPid.values()];
}

const short = (argv: string[]) =>
  argv
    .filter((a) => !a.startsWith("/tmp/") || a.endsWith(".qcow2"))
    .map((a) => (a.length > 48 ? `…${a.slice(-40)}` : a))
    .slice(0, 7)
    .join(" ");

type Line = { at: number; what: string };

function logLines(logFile: string, from: number, to: number): Line[] {
  const lines: Line[] = [];
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (\w+) \[([^\]]+)\] (.*)$/.exec(line);
    if (!m) continue;
    const at = Date.parse(m[1]);
    if (at >= from && at <= to) lines.push({ at, what: `log ${m[3]}: ${m[4].slice(0, 110)}` });
  }
  return lines;
}

async function timeline(
  db: pg.Pool,
  job: JobView,
  logFile: string,
  straceFile: string,
): Promise<{ lines: Line[]; children: Child[] }> {
  const created = Date.parse(job.createdAt);
  const finished = Date.parse(job.finishedAt!);
  const events = await db.query<{ at: Date; kind: string; message: string }>(
    "SELECT at, kind, message FROM job_events WHERE job_id = $1 ORDER BY id",
    [job.id],
  );
  const lines: Line[] = events.rows.map((e) => ({
    at: e.at.getTime(),
    what: `event ${e.kind}: ${e.message.slice(0, 100)}`,
  }));
  lines.push(...logLines(logFile, created - 500, finished + 3000));
  const children = childrenOf(straceFile).filter((c) => c.start >= created - 1000 && c.start <= finished + 3000);
  for (const c of children) {
    const took = c.end === null ? "still running" : `${Math.round(c.end - c.start)} ms`;
    lines.push({ at: c.start, what: `exec ${short(c.argv)} (${took})` });
  }
  lines.sort((a, b) => a.at - b.at);
  return { lines, children };
}

function print(title: string, job: JobView, t: { lines: Line[]; children: Child[] }): void {
  const created = Date.parse(job.createdAt);
  out(`\n=== ${title}: job ${job.id}, ${seconds(job).toFixed(2)} s (createdAt → finishedAt) ===`);
  for (const l of t.lines) out(`${String(Math.round(l.at - created)).padStart(7)} ms  ${l.what}`);
  const kinds = new Map<string, { n: number; ms: number }>();
  for (const c of t.children) {
    const key = c.argv.slice(0, 2).join(" ");
    const k = kinds.get(key) ?? { n: 0, ms: 0 };
    k.n += 1;
    k.ms += c.end === null ? 0 : c.end - c.start;
    kinds.set(key, k);
  }
  out(`children: ${t.children.length}`);
  for (const [key, k] of kinds) out(`  ${key}: ${k.n} run(s), ${Math.round(k.ms)} ms in all`);
}

it(`incremental of a ${sizeMiB} MiB qcow2 with 5 % changed, step by step`, async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), "nbdhub-incr-steps-"));
  await chmod(root, 0o755);
  const dataDir = path.join(root, "data");
  const logFile = path.join(root, "server.log");
  const straceFile = path.join(root, "strace.log");
  await mkdir(dataDir, { recursive: true });
  await writeFile(logFile, "");
  const portRange = await freePortRange(8);
  let server: LaunchedServer | undefined;
  let serverPid: number | undefined;
  let db: pg.Pool | undefined;
  try {
    server = await launchServer({
      // INCR_APP_ROOT: another checkout, built, for a before/after comparison.
      root: process.env.INCR_APP_ROOT ?? path.resolve(__dirname, "../.."),
      dataDir,
      port: await freePort(),
      token: TOKEN,
      env: { NBDHUB_PORT_RANGE: `${portRange.min}-${portRange.max}` },
      dropInherited: ["DATABASE_URL"],
      log: { file: logFile },
      healthTimeoutMs: 180_000,
      stopGraceMs: 30_000,
      // INCR_CPU_PROF=<dir>: a V8 CPU profile of the server, written there when it stops.
      nodeArgs: process.env.INCR_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.INCR_CPU_PROF}`] : undefined,
      spawn: (command, args, options) => {
        if (!traced) return spawn(command, args, options);
        const strace = ["-f", "--seccomp-bpf", "-q", "-ttt", "-s", "300", "-e", "trace=execve", "-e", "signal=none"];
        return spawn("strace", [...strace, "-o", straceFile, command, ...args], options);
      },
    });
    serverPid = server.process.pid;
    if (traced) {
      // The server is strace's child: a SIGTERM for it must reach it, not strace.
      const children = await waitFor(
        () => {
          const text = readFileSync(`/proc/${server!.process.pid}/task/${server!.process.pid}/children`, "utf8");
          return text.trim() ? Number(text.trim().split(" ")[0]) : undefined;
        },
        { timeoutMs: 10_000, what: "the server under strace" },
      );
      serverPid = children;
    }
    db = new pg.Pool({ connectionString: embeddedUrl(dataDir), max: 2 });
    const name = "bench-incr.qcow2";
    const source = path.join(dataDir, "sources", name);
    await mkdir(path.dirname(source), { recursive: true });
    await makeImage(source, { sizeMiB, randomMiB: sizeMiB / 2, format: "qcow2" });
    const { execa } = await import("execa");
    const sizeBytes = sizeMiB * MiB;
    await execa("qemu-io", ["-f", "qcow2", "-c", `write -P 90 1 ${sizeBytes - 2}`, source], { timeout: 300_000 });
    const ratios: number[] = [];
    const incs: number[] = [];
    const fulls: number[] = [];
    for (let r = 0; r < rounds; r += 1) {
      const vm = `steps-${r}`;
      const full = await runJob({ server }, vm, "full", name);
      await changeFivePercent(source, sizeBytes, 17 + r);
      const inc = await runJob({ server }, vm, "incremental", name);
      if (inc.disks[0].copyMode !== "changed-blocks") throw new Error(`ran as ${inc.disks[0].copyMode}`);
      // Let the job's last log lines and child exits land before reading them.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      print(`round ${r + 1} full`, full, await timeline(db, full, logFile, straceFile));
      print(`round ${r + 1} incremental`, inc, await timeline(db, inc, logFile, straceFile));
      ratios.push(seconds(inc) / seconds(full));
      incs.push(seconds(inc));
      fulls.push(seconds(full));
      out(`round ${r + 1}: full ${seconds(full).toFixed(2)} s, incremental ${seconds(inc).toFixed(2)} s`);
      for (const j of [inc, full]) for (const d of j.disks) if (d.targetPath) await rm(d.targetPath, { force: true });
    }
    out(
      `\nSUMMARY size=${sizeMiB}MiB rounds=${rounds} strace=${traced} ` +
        `full=[${fulls.map((s) => s.toFixed(2)).join(", ")}] inc=[${incs.map((s) => s.toFixed(2)).join(", ")}] ` +
        `ratios=[${ratios.map((x) => (x * 100).toFixed(1) + "%").join(", ")}] median=${(median(ratios) * 100).toFixed(1)}%`,
    );
  } finally {
    await db?.end().catch(() => undefined);
    if (server && serverPid !== undefined && serverPid !== server.process.pid) {
      process.kill(serverPid, "SIGTERM");
      await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    }
    await server?.stop().catch(() => undefined);
    if (!process.env.INCR_KEEP) await rm(root, { recursive: true, force: true });
    else out(`kept ${root}`);
  }
}, 3_600_000);
