// A disk's copy plan when its turn comes (decision 010): the previous point is looked up again
// (the job may have waited while a newer point was committed), the job's own dirty bitmap is
// added to a qcow2 source (before anything reads it, so every later write is recorded), then
// the previous point's bitmap is checked (it may have been deleted) and the plan is written on
// the disk row and said in the event log. The bitmap work runs beside the target's creation
// and export (disk-task.ts runDisk): neither reads the source.
import "server-only";
import type { BackupDisk as DiskRow, BackupJob as JobRow } from "@/lib/generated/prisma/client";
import { SourceBusy } from "./bitmaps";
import { planDisk, previousPoint, type PreviousPoint } from "./copy-plan";
import type { DiskDeps } from "./disk-task";
import type { CopyPlan } from "./incremental/plan";
import type { InspectedSource } from "./source";
import { addJobBitmap } from "./source-bitmaps";
import { bothSettled } from "@/lib/settled";

export type PlannedCopy = { plan: CopyPlan; previous: PreviousPoint | null; disk: DiskRow };

/** SourceBusy and the like become an Error whose message the job's failure shows as it is. */
async function busyAsError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SourceBusy) throw new Error(error.message);
    throw error;
  }
}

/**
 * The previous point an incremental builds on, looked up when the disk's turn comes (a newer
 * point may have been committed while the job waited); null for a full. The target is created
 * on it while the plan is made (runDisk), so it is known first.
 */
export async function previousForDisk(deps: DiskDeps, job: JobRow, disk: DiskRow): Promise<PreviousPoint | null> {
  if (job.type !== "incremental") return null;
  const previous = await previousPoint(deps.db, job.vmName, disk.diskId);
  if (!previous) {
    const gone = "removed while the job waited";
    throw new Error(`no completed backup of disk ${disk.diskId} of ${job.vmName} to build on any more (${gone})`);
  }
  return previous;
}

export async function planDiskCopy(
  deps: DiskDeps,
  job: JobRow,
  disk: DiskRow,
  source: InspectedSource,
  previous: PreviousPoint | null,
): Promise<PlannedCopy> {
  const { db, events } = deps;
  const type = job.type === "incremental" ? "incremental" : "full";
  let said: Promise<unknown> = Promise.resolve();
  if (source.kind === "file" && source.format === "qcow2") {
    const name = await busyAsError(() => addJobBitmap(db, job.id, disk.diskId, source.path));
    const why = "it records every write from now on, for the next incremental";
    const message = `disk ${disk.diskId}: added dirty bitmap ${name} to ${disk.source} (${why})`;
    // Said while the plan is made (the plan reads the source, not the log).
    said = events.record(job.id, "disk.bitmap", message, { diskId: disk.diskId });
  }
  const [, plan] = await bothSettled(
    said,
    busyAsError(() => planDisk({ type, source, previous, dirtyBitmap: disk.dirtyBitmap })),
  );
  const backingJobId = plan.mode === "full" ? null : plan.backingJobId;
  const changed = disk.copyMode !== plan.mode || disk.backingJobId !== backingJobId;
  const data = {
    copyMode: plan.mode,
    copyReason: plan.reason,
    backingJobId,
    backingPath: previous?.targetPath ?? null,
  };
  const since = changed && disk.copyMode ? ` (planned as ${disk.copyMode} when the job was created)` : "";
  await bothSettled(
    db.backupDisk.update({ where: { jobId_diskId: { jobId: job.id, diskId: disk.diskId } }, data }),
    events.record(job.id, "disk.plan", `disk ${disk.diskId}: ${plan.reason}${since}`, { diskId: disk.diskId }),
  );
  return { plan, previous, disk: { ...disk, ...data } };
}
