// Export start latency: 50 starts through the HTTP API (request sent → 201 answered, which
// nbdhub sends only once qemu-nbd's pid file is written) beside 50 bare qemu-nbd spawns
// (spawn → pid file holds the pid), interleaved so both see the same machine load.
//
//   NBDHUB_NEXT_DIST=.next-nbd npx tsx --conditions=react-server bench/export-start.ts [runs]
//   (BENCH_VERBOSE=1 prints every run.)
//
// Needs a built console (the test run builds it) and qemu-nbd/qemu-img. Starts its own
// server with an embedded PostgreSQL in a temporary data directory (or DATABASE_URL).
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { readProcStat } from "../lib/proc/stat";
import { pidFileFor, qemuNbdArgs } from "../lib/nbd/qemu-nbd-command";
import { waitForPidFile, type ProcessExit } from "../lib/nbd/ready-wait";
import { launchServer, type LaunchedServer } from "../tests/helpers/launch-server";
import { freePort, freePortRange } from "../tests/helpers/ports";
import { BENCH_TOKEN } from "./common/server";

const RUNS = Number(process.argv[2] ?? 50);
// The script's own location (works whether tsx loads it as CommonJS or as an ES module).
const root = path.resolve(path.dirname(path.resolve(process.argv[1])), "..");
const dist = process.env.NBDHUB_NEXT_DIST || ".next";

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const summary = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { median: pct(s, 50), p95: pct(s, 95), min: s[0], max: s[s.length - 1] };
};
const fmt = (v: number) => `${v.toFixed(1)} ms`;

async function main() {
  if (!existsSync(path.join(root, dist, "BUILD_ID")))
    throw new Error(`no build in ${dist}: run the tests (or next build) first`);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-bench-"));
  const bareDir = path.join(dataDir, "bare");
  await mkdir(bareDir, { recursive: true });
  const { min } = await freePortRange(4);
  let server: LaunchedServer | undefined;
  try {
    server = await launchServer({
      root,
      dataDir,
      port: await freePort(),
      token: BENCH_TOKEN,
      env: { NBDHUB_PORT_RANGE: `${min}-${min + 3}`, NBDHUB_LOG: "silent" },
      healthTimeoutMs: 120_000,
    });
    const { api } = server;
    const image = path.join(dataDir, "repository", "bench.qcow2");
    const bareImage = path.join(bareDir, "bench.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", image, "1G"]);
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", bareImage, "1G"]);

    const viaApi: number[] = [];
    const bare: number[] = [];
    const startBody = {
      port: min,
      exportName: "bench",
      filePath: "bench.qcow2",
      jobId: "bench",
      vmName: "bench",
      diskId: "disk0",
    };
    // Two warm-up rounds of each, not counted (first requests compile routes, warm caches).
    for (let i = -2; i < RUNS; i += 1) {
      const t0 = performance.now();
      const started = await api("POST", "/nbd/qemu-nbd/start", startBody);
      const apiMs = performance.now() - t0;
      if (started.status !== 201) throw new Error(`start answered ${started.status}: ${JSON.stringify(started.body)}`);
      const stopped = await api("POST", "/nbd/qemu-nbd/stop", { port: min });
      if (stopped.status !== 200) throw new Error(`stop answered ${stopped.status}`);

      const pidFile = pidFileFor(bareDir, min + 1, `bare${i}`);
      const args = qemuNbdArgs({
        exportName: "bench",
        bind: "127.0.0.1",
        port: min + 1,
        shared: 10,
        pidFile,
        cache: "writeback",
        readOnly: false,
        file: bareImage,
      });
      // The same spawn options and the same readiness wait as the export manager, minus the rest.
      const t1 = performance.now();
      const child = spawn("qemu-nbd", args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<ProcessExit>((resolve) =>
        child.once("exit", (code, signal) => resolve({ exitCode: code, signal })),
      );
      const stat = await readProcStat(child.pid!);
      const outcome = await waitForPidFile(
        { pid: child.pid!, startTime: stat?.startTime ?? null, exited },
        pidFile,
        10_000,
      );
      const bareMs = performance.now() - t1;
      if (outcome.kind !== "ready") throw new Error(`bare qemu-nbd: ${outcome.kind} ${stderr}`);
      // SIGKILL: a bare SIGTERM right after the pid file can be lost (see SIGTERM_REPEAT_MS).
      child.kill("SIGKILL");
      await exited;
      await rm(pidFile, { force: true });
      if (process.env.BENCH_VERBOSE)
        console.error(`run ${i}: api ${apiMs.toFixed(1)} ms, bare ${bareMs.toFixed(1)} ms`);
      if (i >= 0) {
        viaApi.push(apiMs);
        bare.push(bareMs);
      }
    }
    const metrics = (await api("GET", "/metrics")).body as {
      exports: { startLatency: { count: number; averageSeconds: number } };
    };
    const a = summary(viaApi);
    const b = summary(bare);
    const load = os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
    console.log(
      `export start latency, ${RUNS} runs each (${os.cpus().length} CPUs, load average ${load}, qemu-nbd ${execFileSync("qemu-nbd", ["--version"]).toString().split("\n")[0].split(" ")[1]})`,
    );
    console.log(
      `  through the API (POST /nbd/qemu-nbd/start → 201 ready):  median ${fmt(a.median)}  p95 ${fmt(a.p95)}  min ${fmt(a.min)}  max ${fmt(a.max)}`,
    );
    console.log(
      `  bare qemu-nbd (spawn → pid file written):               median ${fmt(b.median)}  p95 ${fmt(b.p95)}  min ${fmt(b.min)}  max ${fmt(b.max)}`,
    );
    console.log(`  overhead of the API path (median):                     ${fmt(a.median - b.median)}`);
    console.log(
      `  server-side average (histogram, incl. warm-up):        ${fmt(metrics.exports.startLatency.averageSeconds * 1000)} over ${metrics.exports.startLatency.count} starts`,
    );
  } finally {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
