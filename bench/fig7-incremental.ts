// Figure 7, incrementals (issue 13): a 1 GiB qcow2 disk of random data backed up in full
// through the API, then 5 % of it changed in scattered 64 KiB-aligned writes and backed up as
// an incremental (changed blocks from the full's bitmap), in the same run. Bytes written into
// the target and job time (createdAt → finishedAt), incremental beside full. Goal of the issue:
// at most 6 % of the bytes and 15 % of the time.
import { promises as fs } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { makeImage } from "../tests/helpers/images";
import type { Ctx, FigureResult } from "./common/context";
import { fivePercentChanges } from "./common/five-percent";
import { median } from "./common/stats";

const MiB = 1024 * 1024;

export type JobView = {
  id: string;
  status: string;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
  disks: {
    targetPath: string | null;
    transferredBytes: number;
    changedBytes: number | null;
    copyMode: string | null;
  }[];
};

export async function runJob(
  ctx: { server: Pick<Ctx["server"], "api" | "waitForJobEnd"> },
  vmName: string,
  type: "full" | "incremental",
  source: string,
): Promise<JobView> {
  const r = await ctx.server.api<JobView>("POST", "/backups", { vmName, type, disks: [{ source }] });
  if (r.status !== 202) throw new Error(`POST /backups answered ${r.status}: ${JSON.stringify(r.body)}`);
  await ctx.server.waitForJobEnd(r.body.id);
  const job = (await ctx.server.api<JobView>("GET", `/backups/${r.body.id}`)).body;
  if (job.status !== "completed") throw new Error(`job ${job.id} ${job.status}: ${job.error}`);
  return job;
}

export const seconds = (j: JobView) => (Date.parse(j.finishedAt!) - Date.parse(j.createdAt)) / 1000;

/** 5 % of the disk in 64 KiB writes at scattered, aligned offsets (a seeded PRNG: reproducible). */
export async function changeFivePercent(file: string, sizeBytes: number, seed: number): Promise<number> {
  const { commands, bytes } = fivePercentChanges(sizeBytes, seed);
  // qemu-io takes many -c at once; in batches so a command line stays short.
  for (let i = 0; i < commands.length; i += 2000) {
    await execa("qemu-io", ["-f", "qcow2", ...commands.slice(i, i + 2000), file], { timeout: 300_000 });
  }
  return bytes;
}

export async function incremental(ctx: Ctx): Promise<FigureResult> {
  const sizeMiB = ctx.quick ? 256 : 1024;
  const rounds = ctx.quick ? 1 : 2;
  const sizeBytes = sizeMiB * MiB;
  const name = "bench-incr.qcow2";
  const source = path.join(ctx.server.sourcesDir, name);
  await makeImage(source, { sizeMiB, randomMiB: sizeMiB / 2, format: "qcow2" });
  // Random data everywhere: every block of the full is real data.
  await execa("qemu-io", ["-f", "qcow2", "-c", `write -P 90 1 ${sizeBytes - 2}`, source], { timeout: 300_000 });
  const fulls: JobView[] = [];
  const incs: JobView[] = [];
  let changed = 0;
  for (let r = 0; r < rounds; r += 1) {
    const vm = `bench-incr-${r}`;
    const full = await runJob(ctx, vm, "full", name);
    changed = await changeFivePercent(source, sizeBytes, 17 + r);
    const inc = await runJob(ctx, vm, "incremental", name);
    if (inc.disks[0].copyMode !== "changed-blocks") throw new Error(`the incremental ran as ${inc.disks[0].copyMode}`);
    fulls.push(full);
    incs.push(inc);
    ctx.log(
      `figure 7: round ${r + 1}/${rounds}: full ${seconds(full).toFixed(2)} s, ` +
        `${(full.disks[0].transferredBytes / MiB).toFixed(1)} MiB; incremental ${seconds(inc).toFixed(2)} s, ` +
        `${(inc.disks[0].transferredBytes / MiB).toFixed(1)} MiB written of ${(changed / MiB).toFixed(1)} MiB changed`,
    );
    for (const j of [inc, full]) for (const d of j.disks) if (d.targetPath) await fs.rm(d.targetPath, { force: true });
  }
  await fs.rm(source, { force: true });
  const fullBytes = median(fulls.map((j) => j.disks[0].transferredBytes));
  const incBytes = median(incs.map((j) => j.disks[0].transferredBytes));
  return {
    rows: [
      {
        figure: "7 incremental",
        metric: `bytes written, ${sizeMiB} MiB qcow2 with 5 % changed (MiB)`,
        nbdhub: incBytes / MiB,
        baseline: fullBytes / MiB,
        baselineName: "full backup of it, same run",
        unit: "MiB",
      },
      {
        figure: "7 incremental",
        metric: `job time, ${sizeMiB} MiB qcow2 with 5 % changed`,
        nbdhub: median(incs.map(seconds)),
        baseline: median(fulls.map(seconds)),
        baselineName: "full backup of it, same run",
        unit: "s",
      },
    ],
    data: {
      sizeMiB,
      rounds,
      changedBytes: changed,
      fullSeconds: fulls.map(seconds),
      incrementalSeconds: incs.map(seconds),
      fullBytes: fulls.map((j) => j.disks[0].transferredBytes),
      incrementalBytes: incs.map((j) => j.disks[0].transferredBytes),
    },
  };
}
