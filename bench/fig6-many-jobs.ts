// Figure 6, many jobs at once: J backups of D disks each, all started together through the
// API (the server runs NBDHUB_MAX_PARALLEL_DISKS=4 disks of a job at once), first request →
// last job's finishedAt (each job watched on its event stream); beside the same J×D copies done
// by hand (create, qemu-nbd, nbdcopy --flush, stop), J groups at once, each with at most 4 disks
// at once.
import { promises as fs } from "node:fs";
import path from "node:path";
import { makeImage } from "../tests/helpers/images";
import { barePipeline } from "./common/bare";
import type { Ctx, FigureResult } from "./common/context";
import { mapLimit, median } from "./common/stats";

const MiB = 1024 * 1024;
const PARALLEL = 4;

type JobView = {
  id: string;
  status: string;
  finishedAt: string | null;
  error: string | null;
  disks: { targetPath: string | null }[];
};

export async function manyJobs(ctx: Ctx): Promise<FigureResult> {
  const jobs = ctx.quick ? 2 : 8;
  const disks = ctx.quick ? 2 : 4;
  const sizeMiB = ctx.quick ? 32 : 64;
  const rounds = ctx.quick ? 1 : 3;
  const sizeBytes = sizeMiB * MiB;
  const sources = await Promise.all(
    Array.from({ length: disks }, (_, d) =>
      makeImage(path.join(ctx.server.sourcesDir, `bench-many-${d}.raw`), { sizeMiB, randomMiB: sizeMiB / 2 }),
    ),
  );
  const runDir = path.join(ctx.bareDir, "run");
  const api: number[] = [];
  const bare: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    const order = r % 2 === 0 ? ["api", "bare"] : ["bare", "api"];
    for (const side of order) {
      if (side === "api") {
        const t0 = Date.now();
        const started = await Promise.all(
          Array.from({ length: jobs }, (_, j) =>
            ctx.server.api<JobView>("POST", "/backups", {
              vmName: `bench-many-${j}`,
              type: "full",
              disks: sources.map((_, d) => ({ diskId: `disk${d}`, source: `bench-many-${d}.raw` })),
            }),
          ),
        );
        const bad = started.find((s) => s.status !== 202);
        if (bad) throw new Error(`POST /backups answered ${bad.status}: ${JSON.stringify(bad.body)}`);
        const ids = started.map((s) => s.body.id);
        await Promise.all(ids.map((id) => ctx.server.waitForJobEnd(id)));
        const done = (await Promise.all(ids.map((id) => ctx.server.api<JobView>("GET", `/backups/${id}`)))).map(
          (v) => v.body,
        );
        const failed = done.find((j) => j.status !== "completed");
        if (failed) throw new Error(`job ${failed.id} ${failed.status}: ${failed.error}`);
        api.push(Math.max(...done.map((j) => Date.parse(j.finishedAt!))) - t0);
        for (const j of done) for (const d of j.disks) if (d.targetPath) await fs.rm(d.targetPath, { force: true });
      } else {
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: jobs }, (_, j) =>
            mapLimit(sources, PARALLEL, (source, d) =>
              barePipeline(
                source,
                sizeBytes,
                path.join(ctx.bareDir, "many", `j${j}-d${d}.qcow2`),
                ctx.barePorts.min + j * disks + d,
                runDir,
              ),
            ),
          ),
        );
        bare.push(performance.now() - t0);
        await fs.rm(path.join(ctx.bareDir, "many"), { recursive: true, force: true });
      }
    }
    ctx.log(
      `figure 6: round ${r + 1}/${rounds}: API ${(api[r] / 1000).toFixed(2)} s, bare ${(bare[r] / 1000).toFixed(2)} s`,
    );
  }
  for (const s of sources) await fs.rm(s, { force: true });
  return {
    rows: [
      {
        figure: "6 many jobs",
        metric: `${jobs} jobs × ${disks} disks of ${sizeMiB} MiB, together → all completed`,
        nbdhub: median(api) / 1000,
        baseline: median(bare) / 1000,
        baselineName: `bare pipelines, ${jobs} groups × ≤${PARALLEL} at once`,
        unit: "s",
      },
    ],
    data: { jobs, disks, sizeMiB, rounds, apiMs: api, bareMs: bare },
  };
}
