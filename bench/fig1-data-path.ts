// Figure 1, data path: one backup of a source that is half random data, half zeros (holes),
// through the API (POST /backups → the job's finishedAt) beside the same copy done by hand
// (qemu-img create, qemu-nbd, nbdcopy --flush, stop) and beside a local qemu-img convert.
// Runs interleave, the order rotating, so all three see the same machine load.
import { promises as fs } from "node:fs";
import path from "node:path";
import { makeImage } from "../tests/helpers/images";
import { barePipeline, type BarePipeline } from "./common/bare";
import type { Ctx, FigureResult } from "./common/context";
import { run } from "./common/procs";
import { median } from "./common/stats";

const MiB = 1024 * 1024;

type JobView = {
  id: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  disks: {
    diskId: string;
    status: string;
    port: number | null;
    targetPath: string | null;
    startedAt: string | null;
    finishedAt: string | null;
  }[];
  events?: { at: string; kind: string; diskId: string | null }[];
};

export type JobTiming = {
  totalMs: number;
  /** Phases of the job's wall time (ms), from its event log and the disk's timestamps. */
  phases: Record<string, number>;
  /** qemu-img map of the source, check and compare of the target, timed by hand. */
  mapMs: number;
  checkMs: number;
  compareMs: number;
};

/**
 * Start a backup and wait for its end on the job's event stream (as the console does; no
 * polling load on the server during the copy). The time is the job's own finishedAt.
 */
export async function runBackup(ctx: Ctx, body: unknown): Promise<{ t0: number; job: JobView }> {
  const t0 = Date.now();
  const started = await ctx.server.api<JobView>("POST", "/backups", body);
  if (started.status !== 202)
    throw new Error(`POST /backups answered ${started.status}: ${JSON.stringify(started.body)}`);
  await ctx.server.waitForJobEnd(started.body.id);
  const r = await ctx.server.api<JobView>("GET", `/backups/${started.body.id}`);
  if (r.status !== 200) throw new Error(`GET /backups/${started.body.id} answered ${r.status}`);
  if (r.body.status !== "completed") throw new Error(`backup ${r.body.id} ${r.body.status}: ${r.body.error}`);
  return { t0, job: r.body };
}

/**
 * When the export of `port` began to stop and when it had stopped, from the server's log
 * (lib/nbd/export-manager.ts logs both): the end of the copy and the start of verification.
 */
async function stopTimesFromLog(
  logFile: string,
  port: number,
  after: number,
): Promise<{ stopping: number; stopped: number }> {
  const lines = (await fs.readFile(logFile, "utf8")).split("\n");
  let stopping = Number.NaN;
  let stopped = Number.NaN;
  for (const line of lines) {
    if (!line.includes(`port=${port}`)) continue;
    const at = Date.parse(line.slice(0, 24));
    if (!(at >= after)) continue;
    if (line.includes(`stopping qemu-nbd on port ${port}`)) stopping = at;
    else if (line.includes(`qemu-nbd on port ${port} stopped`)) stopped = at;
  }
  return { stopping, stopped };
}

function phasesOf(t0: number, job: JobView, stop: { stopping: number; stopped: number }): Record<string, number> {
  const at = (kind: string) => {
    const e = job.events?.find((x) => x.kind === kind);
    return e ? Date.parse(e.at) : Number.NaN;
  };
  const disk = job.disks[0];
  const diskStart = Date.parse(disk.startedAt ?? "");
  const exported = at("disk.exported");
  const transferring = at("disk.transferring");
  const completed = at("disk.completed");
  const finished = Date.parse(job.finishedAt ?? "");
  return {
    "request → job started (inspect source, rows, queue)": at("job.started") - t0,
    "job started → disk started": diskStart - at("job.started"),
    "target create + export start": exported - diskStart,
    "export ready → copy phase": transferring - exported,
    "copy phase (qemu-img map, nbdcopy --flush)": stop.stopping - transferring,
    "export stop": stop.stopped - stop.stopping,
    "verify (qemu-img check + compare, rows)": completed - stop.stopped,
    "finish job (release, rows, events)": finished - completed,
  };
}

export async function dataPath(ctx: Ctx): Promise<FigureResult> {
  const sizeMiB = ctx.quick ? 256 : 1024;
  const runs = ctx.quick ? 2 : 5;
  const sizeBytes = sizeMiB * MiB;
  const source = path.join(ctx.server.sourcesDir, "bench-datapath.raw");
  ctx.log(`figure 1: making a ${sizeMiB} MiB source (${sizeMiB / 2} MiB random)`);
  await makeImage(source, { sizeMiB, randomMiB: sizeMiB / 2 });
  await run("dd", [`if=${source}`, "of=/dev/null", "bs=4M", "status=none"]); // same page cache for everyone
  const runDir = path.join(ctx.bareDir, "run");
  await fs.mkdir(runDir, { recursive: true });

  const nbdhub: JobTiming[] = [];
  const bare: BarePipeline[] = [];
  const convert: number[] = [];
  const methods = ["nbdhub", "bare", "convert"] as const;
  for (let i = 0; i < runs; i += 1) {
    for (let k = 0; k < methods.length; k += 1) {
      const method = methods[(i + k) % methods.length];
      if (method === "nbdhub") {
        const { t0, job } = await runBackup(ctx, {
          vmName: "bench-datapath",
          type: "full",
          disks: [{ diskId: "disk0", source: "bench-datapath.raw" }],
        });
        const stop = await stopTimesFromLog(ctx.server.logFile, job.disks[0].port!, t0);
        const target = job.disks[0].targetPath!;
        const m0 = performance.now();
        await run("qemu-img", ["map", "--output=json", "--force-share", "-f", "raw", source]);
        const c0 = performance.now();
        await run("qemu-img", ["check", "-q", "-f", "qcow2", target]);
        const c1 = performance.now();
        await run("qemu-img", ["compare", "-q", "--force-share", "-f", "raw", "-F", "qcow2", source, target]);
        const c2 = performance.now();
        await fs.rm(target, { force: true });
        nbdhub.push({
          totalMs: Date.parse(job.finishedAt!) - t0,
          phases: phasesOf(t0, job, stop),
          mapMs: c0 - m0,
          checkMs: c1 - c0,
          compareMs: c2 - c1,
        });
      } else if (method === "bare") {
        const target = path.join(ctx.bareDir, `datapath-${i}.qcow2`);
        bare.push(await barePipeline(source, sizeBytes, target, ctx.barePorts.min, runDir));
        await fs.rm(target, { force: true });
      } else {
        const target = path.join(ctx.bareDir, `convert-${i}.qcow2`);
        const t = performance.now();
        // -t writeback: flushed at the end like nbdcopy --flush (convert's default cache mode
        // for its output is unsafe, which never flushes).
        await run("qemu-img", ["convert", "-t", "writeback", "-f", "raw", "-O", "qcow2", source, target]);
        convert.push(performance.now() - t);
        await fs.rm(target, { force: true });
      }
    }
    ctx.log(
      `figure 1: run ${i + 1}/${runs}: nbdhub ${(nbdhub[i].totalMs / 1000).toFixed(2)} s, bare ${(bare[i].totalMs / 1000).toFixed(2)} s, convert ${(convert[i] / 1000).toFixed(2)} s`,
    );
  }
  await fs.rm(source, { force: true });

  const med = (xs: number[]) => median(xs) / 1000;
  const nbdhubS = med(nbdhub.map((r) => r.totalMs));
  const verifyS = med(nbdhub.map((r) => r.phases["verify (qemu-img check + compare, rows)"]));
  const noVerifyS = med(nbdhub.map((r) => r.totalMs - r.phases["verify (qemu-img check + compare, rows)"]));
  const copyS = med(nbdhub.map((r) => r.phases["copy phase (qemu-img map, nbdcopy --flush)"]));
  const bareS = med(bare.map((r) => r.totalMs));
  const bareCopyS = med(bare.map((r) => r.copyMs));
  const convertS = med(convert);
  const phaseNames = Object.keys(nbdhub[0].phases);
  const phases = Object.fromEntries(phaseNames.map((n) => [n, median(nbdhub.map((r) => r.phases[n]))]));
  const label = `${sizeMiB} MiB`;
  return {
    rows: [
      {
        figure: "1 data path",
        metric: `backup of ${label}, start → completed`,
        nbdhub: nbdhubS,
        baseline: bareS,
        baselineName: "bare create+qemu-nbd+nbdcopy --flush+stop",
        unit: "s",
      },
      {
        figure: "1 data path",
        metric: "  same, without nbdhub's verify step",
        nbdhub: noVerifyS,
        baseline: bareS,
        baselineName: "bare create+qemu-nbd+nbdcopy --flush+stop",
        unit: "s",
      },
      {
        figure: "1 data path",
        metric: "  copy phase alone",
        nbdhub: copyS,
        baseline: bareCopyS,
        baselineName: "bare nbdcopy --flush alone",
        unit: "s",
      },
      {
        figure: "1 data path",
        metric: "  verify step (qemu-img check + compare)",
        nbdhub: verifyS,
        baseline: null,
        baselineName: "none: the bare tools do not verify",
        unit: "s",
      },
      {
        figure: "1 data path",
        metric: `  vs local qemu-img convert -O qcow2`,
        nbdhub: nbdhubS,
        baseline: convertS,
        baselineName: "qemu-img convert -t writeback (no NBD)",
        unit: "s",
      },
    ],
    data: {
      sizeMiB,
      runs,
      nbdhubMs: nbdhub,
      bareMs: bare,
      convertMs: convert,
      medianPhasesMs: phases,
      medianByHandMs: {
        map: median(nbdhub.map((r) => r.mapMs)),
        check: median(nbdhub.map((r) => r.checkMs)),
        compare: median(nbdhub.map((r) => r.compareMs)),
      },
      medianBareMs: Object.fromEntries(
        (["createMs", "startMs", "copyMs", "stopMs", "totalMs"] as const).map((k) => [
          k,
          median(bare.map((r) => r[k])),
        ]),
      ),
    },
  };
}
