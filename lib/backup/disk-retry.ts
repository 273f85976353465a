// A failed disk copy tried again (a job's `retries`): the failed attempt's export is stopped and
// its target removed, the disk's row starts over as the next attempt, and the next try waits a
// backoff (2 s, 4 s, 8 s … at most 30 s) that an ending (cancel, time limit, shutdown) cuts
// short. The port stays the job's (reserved at admission) for the next attempt.
import "server-only";
import type { BackupDisk as DiskRow } from "@/lib/generated/prisma/client";
import type { DiskDeps } from "./disk-task";
import { removeTarget } from "./target";

const BACKOFF_CAP_SECONDS = 30;

/** Seconds to wait before attempt `next` (2, 3, …). */
export function backoffSeconds(next: number): number {
  return Math.min(BACKOFF_CAP_SECONDS, 2 ** (next - 1));
}

/** The reason as the event log and the job show it: one "disk <id>: " in front. */
export function diskReason(diskId: string, message: string): string {
  const prefix = `disk ${diskId}: `;
  return message.startsWith(prefix) ? message : `${prefix}${message}`;
}

/** Resolves after `seconds`, or false at once when `signal` aborts. */
function pause(seconds: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const done = (value: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), seconds * 1000);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Clean up after a failed attempt and wait for the next one. False when the job's ending came
 * meanwhile (no next attempt: its claimer ends the job). Throws when the clean-up failed: the
 * disk then fails with the attempt's reason.
 */
export async function prepareRetry(
  deps: DiskDeps & { config: { repositoryDir: string } },
  disk: DiskRow,
  port: number | undefined,
  next: { attempt: number; of: number; reason: string },
  signal: AbortSignal,
): Promise<boolean> {
  const { db, events } = deps;
  const wait = backoffSeconds(next.attempt);
  const after = next.reason.slice(`disk ${disk.diskId}: `.length);
  const message = `disk ${disk.diskId}: attempt ${next.attempt} of ${next.of} in ${wait} s after: ${after}`;
  await events.record(disk.jobId, "disk.retrying", message, { diskId: disk.diskId, level: "warn" });
  // The failed attempt's export (stopped with SIGTERM, SIGCONT, then SIGKILL: also a hung one).
  if (port !== undefined) await deps.exports.stop(port);
  if (disk.targetPath) await removeTarget(disk.targetPath, deps.config.repositoryDir);
  const where = { jobId_diskId: { jobId: disk.jobId, diskId: disk.diskId } };
  const fresh = { transferredBytes: BigInt(0), bytesPerSecond: 0, etaSeconds: null, stalledSince: null };
  await db.backupDisk.update({
    where,
    data: { ...fresh, status: "pending", pid: null, port: null, nbdUri: null, attempt: next.attempt, error: null },
  });
  const sums = await db.backupDisk.aggregate({ where: { jobId: disk.jobId }, _sum: { transferredBytes: true } });
  await db.backupJob.update({
    where: { id: disk.jobId },
    data: { transferredBytes: sums._sum.transferredBytes ?? BigInt(0), lastActivityAt: new Date() },
  });
  events.changed(disk.jobId);
  return pause(wait, signal);
}
