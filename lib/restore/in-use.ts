// Which restore points a restore is using: any file of a point's chain that a restore not yet
// ended serves or copies. The prune (lib/policy) asks before it removes or merges a point:
// removing a file under a running qemu-nbd or nbdcopy would break the restore.
import "server-only";
import type { Db } from "@/lib/db/prisma";

export const ACTIVE_RESTORE_STATUSES = ["queued", "running", "ready"] as const;

/** Files (real paths in the repository) that restores not yet ended read. */
export async function filesInUse(db: Db): Promise<Set<string>> {
  const disks = await db.restoreDisk.findMany({
    where: { restore: { status: { in: [...ACTIVE_RESTORE_STATUSES] } } },
    select: { chain: true },
  });
  const files = new Set<string>();
  for (const d of disks) if (Array.isArray(d.chain)) for (const p of d.chain) if (typeof p === "string") files.add(p);
  return files;
}

/** Backup jobs (restore points) any of whose files a restore not yet ended reads. */
export async function pointsInUse(db: Db): Promise<Set<string>> {
  const files = await filesInUse(db);
  if (files.size === 0) return new Set();
  const rows = await db.backupDisk.findMany({ where: { targetPath: { in: [...files] } }, select: { jobId: true } });
  return new Set(rows.map((r) => r.jobId));
}

/** True while a restore reads any file of this backup job (its own, or it is in a chain read). */
export async function isPointInUse(db: Db, jobId: string): Promise<boolean> {
  return (await pointsInUse(db)).has(jobId);
}
