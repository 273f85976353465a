// The one way a job ends. Completed, failed, cancelled, stale, shut down or interrupted by a
// restart: every ending comes here, and here only are a job's resources given back — its
// qemu-nbd processes stopped, its ports released, the targets of disks that did not complete
// removed, dirty bitmaps no longer needed removed from its sources — and the reason written
// into the job's event log.
import "server-only";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import type { JobEvents } from "./events";
import { settleJobBitmaps } from "./source-bitmaps";
import { CleanupIncomplete, releaseOrRefuse, type ResourceDeps } from "./release-resources";

export { CleanupIncomplete };
import { removeTarget } from "./target";
import { messageOf } from "@/lib/messages";

export type Outcome =
  { status: "completed" } | { status: "failed"; reason: string } | { status: "cancelled"; by: string };

export type FinishDeps = ResourceDeps & {
  db: Db;
  config: Config;
  log: Logger;
  events: JobEvents;
  /** A target that could not be removed now (a read-only repository): the runner retries. */
  onLeftover?: (file: string) => void;
};

const NOT_VERIFIED = { verified: false, verification: null };
const IDLE = { pid: null, bytesPerSecond: 0, etaSeconds: null, stalledSince: null };

/** The job's verification from its disks': verified only when every disk was compared with its source. */
export function jobVerification(disks: { verified: boolean }[]): { verified: boolean; verification: string } {
  const compared = disks.filter((d) => d.verified).length;
  if (disks.length > 0 && compared === disks.length) {
    return { verified: true, verification: `every disk (${disks.length}) was compared with its source: identical` };
  }
  if (compared === 0) {
    const verification = "no disk could be compared with its source; each passed qemu-img check (see each disk)";
    return { verified: false, verification };
  }
  const others = "the others passed qemu-img check only (see each disk)";
  const some = `${compared} of ${disks.length} disks were compared with their source`;
  return { verified: false, verification: `${some}; ${others}` };
}

/**
 * End the job. Call it only as the job's ending claimer (claim.ts). Idempotent: only the
 * first call for a job that has not ended changes it (the status update is conditional), but
 * the clean-up runs every time, so a retry after a crash in the middle still gives everything
 * back. Throws CleanupIncomplete, before writing anything, when processes or ports could not
 * be given back, unless `force` (after retries gave up: the status is written and the problem
 * recorded).
 */
export async function finishJob(
  deps: FinishDeps,
  jobId: string,
  outcome: Outcome,
  { force = false }: { force?: boolean } = {},
): Promise<boolean> {
  const { db, events } = deps;
  // 1. Processes and ports. Exports first: stopping one also releases its port.
  const problems = await releaseOrRefuse(deps, { kind: "job", id: jobId }, force);

  // 2. Files: a target that is not a completed backup must not stay in the repository. One
  //    that cannot be removed now (read-only repository) is handed to the runner to retry.
  const disks = await db.backupDisk.findMany({ where: { jobId } });
  for (const disk of disks) {
    if (disk.status !== "completed" && disk.targetPath) {
      const file = disk.targetPath;
      await removeTarget(file, deps.config.repositoryDir).catch((error) => {
        problems.push(`removing ${file}: ${String(error)} (will retry)`);
        deps.onLeftover?.(file);
      });
    }
  }

  // 3. Rows: the job's status once, disks that did not complete marked with the reason.
  const finishedAt = new Date();
  const diskEnd = outcome.status === "cancelled" ? "cancelled" : "failed";
  const reason =
    outcome.status === "failed" ? outcome.reason : outcome.status === "cancelled" ? `cancelled by ${outcome.by}` : null;
  const message =
    outcome.status === "completed"
      ? `job completed: ${jobVerification(disks).verification}; ports released, exports stopped`
      : outcome.status === "cancelled"
        ? `job cancelled by ${outcome.by}; exports stopped, ports released, incomplete targets removed`
        : `job failed: ${outcome.reason}; exports stopped, ports released, incomplete targets removed`;
  const publish = await db.$transaction(async (tx) => {
    const verification = outcome.status === "completed" ? jobVerification(disks) : NOT_VERIFIED;
    const updated = await tx.backupJob.updateMany({
      where: { id: jobId, status: { in: ["queued", "running"] } },
      data: {
        status: outcome.status,
        finishedAt,
        error: outcome.status === "failed" ? outcome.reason : null,
        cancelledBy: outcome.status === "cancelled" ? outcome.by : undefined,
        ...verification,
      },
    });
    if (updated.count === 0) return null;
    await tx.backupDisk.updateMany({
      where: { jobId, status: { notIn: ["completed", "failed", "cancelled"] } },
      data: { status: diskEnd, finishedAt, ...IDLE, error: reason, ...NOT_VERIFIED },
    });
    // A disk that failed on its own keeps its own reason; the job's error names the first.
    await tx.backupDisk.updateMany({ where: { jobId, status: { in: ["failed", "cancelled"] } }, data: IDLE });
    const sums = await tx.backupDisk.aggregate({ where: { jobId }, _sum: { transferredBytes: true } });
    await tx.backupJob.update({
      where: { id: jobId },
      data: { transferredBytes: sums._sum.transferredBytes ?? BigInt(0) },
    });
    // In the same transaction: the status and the event that tells it are written together.
    const level = outcome.status === "failed" ? "error" : "info";
    return events.recordIn(tx, jobId, `job.${outcome.status}`, message, { level });
  });
  publish?.();
  const changed = publish !== null;

  // 4. Dirty bitmaps (decision 010), only now that the status is written: a completed job's
  //    predecessor gives up its bitmap, a failed or cancelled job its own.
  try {
    const removed = await settleJobBitmaps(deps, jobId);
    if (removed.length > 0) {
      const list = removed.map((r) => `${r.bitmap} from ${r.source}`).join(", ");
      await events.record(jobId, "job.bitmaps", `dirty bitmaps no longer needed were removed: ${list}`);
    }
  } catch (error) {
    const why = messageOf(error);
    problems.push(`removing dirty bitmaps: ${why} (swept at next start)`);
  }

  if (problems.length > 0) {
    await events.record(jobId, "job.cleanup_problem", `clean-up problems: ${problems.join("; ")}`, { level: "warn" });
  }
  events.changed(jobId);
  events.ended(jobId);
  return changed;
}
