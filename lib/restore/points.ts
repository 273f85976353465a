// Restore points: completed backup jobs, each disk with its chain (this file, then the files it
// stands on), read from the backup rows. A VM's chains are built once per request from one
// query (a long chain is not walked row by row).
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { conflict, notFound } from "@/lib/errors";
import type { BackupDisk, BackupJob } from "@/lib/generated/prisma/client";
import type { RestorePointView, VmSummaryView } from "./types";

/** A chain deeper than this is not one nbdhub made: stop there. */
const MAX_CHAIN = 256;

type DiskRow = Pick<BackupDisk, "diskId" | "targetPath" | "backingPath" | "totalBytes" | "actualSize" | "status">;

/** target path → backing path of every completed disk given. */
function backingMap(disks: DiskRow[]): Map<string, string | null> {
  const map = new Map<string, string | null>();
  for (const d of disks) if (d.status === "completed" && d.targetPath) map.set(d.targetPath, d.backingPath);
  return map;
}

export function chainOf(path: string, first: string | null, backing: Map<string, string | null>): string[] {
  const chain = [path];
  let next = first;
  while (next && chain.length < MAX_CHAIN && !chain.includes(next)) {
    chain.push(next);
    next = backing.get(next) ?? null;
  }
  return chain;
}

function pointView(job: BackupJob & { disks: DiskRow[] }, backing: Map<string, string | null>): RestorePointView {
  const disks = job.disks
    .filter((d) => d.status === "completed" && d.targetPath)
    .map((d) => ({
      diskId: d.diskId,
      path: d.targetPath!,
      chain: chainOf(d.targetPath!, d.backingPath, backing),
      virtualSize: Number(d.totalBytes),
      actualSize: d.actualSize === null ? null : Number(d.actualSize),
    }));
  return {
    jobId: job.id,
    vmName: job.vmName,
    type: job.type,
    completedAt: (job.finishedAt ?? job.createdAt).toISOString(),
    verified: job.verified,
    disks,
  };
}

const POINT_DISKS = {
  orderBy: { position: "asc" as const },
  select: { diskId: true, targetPath: true, backingPath: true, totalBytes: true, actualSize: true, status: true },
};

/** Every point of a VM, newest first; 404 when the VM never had a backup. */
export async function restorePointsOf(db: Db, vmName: string): Promise<RestorePointView[]> {
  const jobs = await db.backupJob.findMany({
    // A pruned point keeps its row for history, but it is no restore point.
    where: { vmName, status: "completed", prunedAt: null },
    orderBy: [{ finishedAt: "desc" }, { id: "desc" }],
    include: { disks: POINT_DISKS },
  });
  if (jobs.length === 0 && (await db.backupJob.count({ where: { vmName } })) === 0) throw notFound(`VM ${vmName}`);
  const backing = backingMap(jobs.flatMap((j) => j.disks));
  return jobs.map((j) => pointView(j, backing));
}

/** One point, for a restore: 404 unknown job, 409 job_not_completed. */
export async function restorePoint(db: Db, jobId: string): Promise<RestorePointView> {
  const job = await db.backupJob.findUnique({ where: { id: jobId }, include: { disks: POINT_DISKS } });
  if (!job) throw notFound(`backup job ${jobId}`);
  if (job.status !== "completed") {
    const sentence = `backup job ${jobId} is ${job.status}; only a completed backup is a restore point`;
    throw conflict("job_not_completed", sentence, { status: job.status });
  }
  const vmDisks = await db.backupDisk.findMany({
    where: { status: "completed", job: { vmName: job.vmName, status: "completed", prunedAt: null } },
    select: POINT_DISKS.select,
  });
  return pointView(job, backingMap(vmDisks));
}

/** Every VM with a completed backup: its disks, points, last backup and bytes in the repository. */
export async function listVms(db: Db): Promise<VmSummaryView[]> {
  const rows = await db.$queryRaw<
    { vm_name: string; points: bigint; bytes: bigint | null; last_at: Date; last_status: string; disks: string[] }[]
  >`
    SELECT j.vm_name,
           COUNT(*) FILTER (WHERE j.status = 'completed') AS points,
           (SELECT SUM(d.actual_size) FROM backup_disks d JOIN backup_jobs c ON c.id = d.job_id
             WHERE c.vm_name = j.vm_name AND c.status = 'completed' AND d.status = 'completed')::bigint AS bytes,
           MAX(j.created_at) AS last_at,
           (SELECT l.status FROM backup_jobs l WHERE l.vm_name = j.vm_name
             ORDER BY l.created_at DESC, l.id DESC LIMIT 1) AS last_status,
           ARRAY(SELECT DISTINCT d.disk_id FROM backup_disks d JOIN backup_jobs c ON c.id = d.job_id
             WHERE c.vm_name = j.vm_name AND c.status = 'completed' ORDER BY d.disk_id) AS disks
      FROM backup_jobs j
     GROUP BY j.vm_name
    HAVING COUNT(*) FILTER (WHERE j.status = 'completed') > 0
     ORDER BY j.vm_name`;
  return rows.map((r) => ({
    vmName: r.vm_name,
    disks: r.disks,
    restorePoints: Number(r.points),
    lastBackupAt: r.last_at.toISOString(),
    lastStatus: r.last_status,
    repositoryBytes: Number(r.bytes ?? BigInt(0)),
  }));
}
