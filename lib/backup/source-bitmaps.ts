// The life cycle of the dirty bitmaps nbdhub keeps on qcow2 file sources (decision 010): each
// job adds `nbdhub-<jobId>` when it starts; after it ends, a sweep removes every nbdhub bitmap
// of its sources that is no longer needed. Needed are the bitmaps of jobs still queued or
// running, of the previous points those jobs build on, and of the last committed point of each
// disk that reads the source. So a completed job's predecessor loses its bitmap only once the
// job's row says completed, and a failed or cancelled job loses its own while the previous one
// stays. The same sweep at start removes what a crash left behind.
import "server-only";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { resolveInsideRoot } from "@/lib/fs/safe-path";
import type { Logger } from "@/lib/log";
import { addBitmap, listBitmaps, removeBitmap, SourceBusy } from "./bitmaps";
import { bitmapNameOf, jobIdOfBitmap } from "./incremental/bitmap-names";
import { isNbdUri } from "@/lib/nbd/uri";

export type SweepDeps = { db: Db; config: Config; log: Logger };
export type RemovedBitmap = { source: string; bitmap: string };

/**
 * Adds the job's bitmap to its qcow2 source and records it on the disk row. A retry of the disk
 * finds it there already (an earlier attempt added it; it has recorded every write since, more
 * than the retry needs): qemu-img would refuse to add it twice.
 */
export async function addJobBitmap(db: Db, jobId: string, diskId: string, file: string): Promise<string> {
  const name = bitmapNameOf(jobId);
  const where = { jobId_diskId: { jobId, diskId } };
  const row = await db.backupDisk.findUnique({ where, select: { sourceBitmap: true } });
  if (row?.sourceBitmap === name && (await listBitmaps(file)).some((b) => b.name === name)) return name;
  await addBitmap(file, name);
  await db.backupDisk.update({ where, data: { sourceBitmap: name } });
  return name;
}

/** Jobs whose bitmaps on `source` must stay. */
async function neededJobs(db: Db, source: string): Promise<Set<string>> {
  const live = await db.backupDisk.findMany({
    where: { job: { status: { in: ["queued", "running"] } } },
    select: { jobId: true, backingJobId: true },
  });
  const needed = new Set<string>();
  for (const d of live) {
    needed.add(d.jobId);
    if (d.backingJobId) needed.add(d.backingJobId);
  }
  // The last committed point of each (VM, disk) that reads this source.
  const committed = await db.backupDisk.findMany({
    where: { source, status: "completed", job: { status: "completed" } },
    orderBy: { finishedAt: "desc" },
    select: { jobId: true, diskId: true, job: { select: { vmName: true } } },
  });
  const seen = new Set<string>();
  for (const d of committed) {
    const key = JSON.stringify([d.job.vmName, d.diskId]);
    if (seen.has(key)) continue;
    seen.add(key);
    needed.add(d.jobId);
  }
  return needed;
}

async function sweepSource(deps: SweepDeps, source: string): Promise<RemovedBitmap[]> {
  let file: string;
  try {
    file = (await resolveInsideRoot(deps.config.sourcesDir, source, "source")).path;
  } catch {
    return []; // gone, or no longer allowed: nothing of ours to look after there
  }
  const bitmaps = await listBitmaps(file);
  const ours = bitmaps.filter((b) => jobIdOfBitmap(b.name) !== null);
  if (ours.length === 0) return [];
  const needed = await neededJobs(deps.db, source);
  const removed: RemovedBitmap[] = [];
  for (const b of ours) {
    if (needed.has(jobIdOfBitmap(b.name)!)) continue;
    if (await removeBitmap(file, b.name)) removed.push({ source, bitmap: b.name });
  }
  return removed;
}

/**
 * Remove the nbdhub bitmaps nobody needs from `sources` (default: every qcow2 file source a
 * job ever added a bitmap to). A source busy in another process is left for the next sweep.
 */
export async function sweepBitmaps(deps: SweepDeps, sources?: string[]): Promise<RemovedBitmap[]> {
  const list =
    sources ??
    (
      await deps.db.backupDisk.findMany({
        where: { sourceBitmap: { not: null } },
        distinct: ["source"],
        select: { source: true },
      })
    ).map((d) => d.source);
  const removed: RemovedBitmap[] = [];
  for (const source of new Set(list)) {
    if (isNbdUri(source)) continue;
    try {
      removed.push(...(await sweepSource(deps, source)));
    } catch (error) {
      const why = error instanceof SourceBusy ? "open for writing in another process" : String(error);
      deps.log.warn(`could not sweep the dirty bitmaps of ${source}; the next sweep tries again`, { error: why });
    }
  }
  return removed;
}

/** After a job ended: the sweep over the sources it added a bitmap to. */
export async function settleJobBitmaps(deps: SweepDeps, jobId: string): Promise<RemovedBitmap[]> {
  const disks = await deps.db.backupDisk.findMany({
    where: { jobId, sourceBitmap: { not: null } },
    select: { source: true },
  });
  if (disks.length === 0) return [];
  return sweepBitmaps(
    deps,
    disks.map((d) => d.source),
  );
}
