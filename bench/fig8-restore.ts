// Figure 7, restore by copy: a 1 GiB restore point (half random data, half zeros) copied back to
// a new raw file through the hub (POST /restores mode "copy" → the restore's finishedAt: port
// reserved, read-only export, nbdcopy --flush, qemu-img compare with the point, release) beside
// the same copy by hand from a hand-started read-only qemu-nbd (start, nbdcopy --flush, stop).
// Runs interleave, the order rotating, so both see the same machine load.
import { promises as fs } from "node:fs";
import path from "node:path";
import { makeImage } from "../tests/helpers/images";
import { startBareExport } from "./common/bare";
import type { Ctx, FigureResult } from "./common/context";
import { run } from "./common/procs";
import { median } from "./common/stats";
import { runBackup } from "./fig1-data-path";

const MiB = 1024 * 1024;

type RestoreView = {
  id: string;
  status: string;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
  disks: { progressAt: string | null }[];
};

type HubRun = { totalMs: number; copyMs: number; verifyMs: number };

async function restoreThroughHub(ctx: Ctx, jobId: string, file: string): Promise<HubRun> {
  const t0 = Date.now();
  const body = { jobId, mode: "copy", destination: { path: file } };
  const started = await ctx.server.api<RestoreView>("POST", "/restores", body);
  if (started.status !== 202) {
    throw new Error(`POST /restores answered ${started.status}: ${JSON.stringify(started.body)}`);
  }
  let r = started.body;
  const deadline = Date.now() + 600_000;
  while (["queued", "running"].includes(r.status)) {
    if (Date.now() > deadline) throw new Error(`restore ${r.id} did not end within 600 s`);
    await new Promise((resolve) => setTimeout(resolve, 200)); // a light poll: one read per 200 ms
    r = (await ctx.server.api<RestoreView>("GET", `/restores/${started.body.id}`)).body;
  }
  if (r.status !== "completed") throw new Error(`restore ${r.id} ${r.status}: ${r.error}`);
  const finished = Date.parse(r.finishedAt!);
  // The copy's end is the disk's last progress (written as nbdcopy exits), then the compare.
  const copied = Date.parse(r.disks[0].progressAt ?? r.finishedAt!);
  return { totalMs: finished - t0, copyMs: copied - t0, verifyMs: finished - copied };
}

export async function restoreCopy(ctx: Ctx): Promise<FigureResult> {
  const sizeMiB = ctx.quick ? 256 : 1024;
  const runs = ctx.quick ? 2 : 3;
  const source = path.join(ctx.server.sourcesDir, "bench-restore.raw");
  ctx.log(`figure 8: making a ${sizeMiB} MiB source (${sizeMiB / 2} MiB random) and backing it up`);
  await makeImage(source, { sizeMiB, randomMiB: sizeMiB / 2 });
  const disks = [{ diskId: "disk0", source: "bench-restore.raw" }];
  const { job } = await runBackup(ctx, { vmName: "bench-restore", type: "full", disks });
  const point = job.disks[0].targetPath!;
  await run("dd", [`if=${point}`, "of=/dev/null", "bs=4M", "status=none"]); // same page cache for both
  const runDir = path.join(ctx.bareDir, "run");
  await fs.mkdir(runDir, { recursive: true });

  const hub: HubRun[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    for (let k = 0; k < 2; k += 1) {
      if ((i + k) % 2 === 0) {
        const file = `bench-restored-${i}.raw`;
        hub.push(await restoreThroughHub(ctx, job.id, file));
        await fs.rm(path.join(ctx.server.sourcesDir, file), { force: true });
      } else {
        const out = path.join(ctx.bareDir, `restored-${i}.raw`);
        const t = performance.now();
        await fs.writeFile(out, "");
        await fs.truncate(out, sizeMiB * MiB);
        const exp = await startBareExport(point, ctx.barePorts.min, runDir, "bench", { readOnly: true });
        try {
          await run("nbdcopy", ["--flush", "--destination-is-zero", exp.uri, out]);
        } finally {
          await exp.stop();
        }
        bare.push(performance.now() - t);
        await fs.rm(out, { force: true });
      }
    }
    const last = hub[hub.length - 1];
    const seconds = (ms: number) => (ms / 1000).toFixed(2);
    ctx.log(
      `figure 8: run ${i + 1}/${runs}: nbdhub ${seconds(last.totalMs)} s, bare ${seconds(bare[bare.length - 1])} s`,
    );
  }
  await fs.rm(source, { force: true });

  const med = (xs: number[]) => median(xs) / 1000;
  const baseline = "bare read-only qemu-nbd + nbdcopy --flush + stop";
  const label = `${sizeMiB} MiB`;
  const figure = "7 restore";
  const bareS = med(bare);
  return {
    rows: [
      {
        figure,
        metric: `restore of ${label} by copy to a raw file, start → completed`,
        nbdhub: med(hub.map((r) => r.totalMs)),
        baseline: bareS,
        baselineName: baseline,
        unit: "s",
      },
      {
        figure,
        metric: "  same, without the compare with the point",
        nbdhub: med(hub.map((r) => r.copyMs)),
        baseline: bareS,
        baselineName: baseline,
        unit: "s",
      },
      {
        figure,
        metric: "  compare with the point (qemu-img compare)",
        nbdhub: med(hub.map((r) => r.verifyMs)),
        baseline: null,
        baselineName: "none: the bare copy is not verified",
        unit: "s",
      },
    ],
    data: { sizeMiB, runs, nbdhubMs: hub, bareMs: bare },
  };
}
