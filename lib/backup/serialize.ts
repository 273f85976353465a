// Database rows → the API's BackupJob and BackupDisk shapes (docs/api.md), built field by field so
// a new column never leaks. BigInt sizes become JSON integers.
import "server-only";
import type { BackupDisk, BackupJob, JobEvent } from "@/lib/api/schemas/backups";
import type { BackupDisk as DiskRow, BackupJob as JobRow, JobEvent as EventRow } from "@/lib/generated/prisma/client";

// The answers' types come from their schemas (lib/api/schemas/backups.ts), which the console
// shares; the database keeps statuses as text, so they are narrowed here to the schemas' enums.
// The *View names are those the rest of lib/backup uses.
export type { BackupDisk as BackupDiskView, BackupJob as BackupJobView, JobEvent as JobEventView };

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function diskView(d: DiskRow): BackupDisk {
  return {
    diskId: d.diskId,
    source: d.source,
    sourceFormat: d.sourceFormat as BackupDisk["sourceFormat"],
    targetPath: d.targetPath,
    backingPath: d.backingPath,
    port: d.port,
    exportName: d.exportName,
    nbdUri: d.nbdUri,
    pid: d.pid,
    status: d.status as BackupDisk["status"],
    totalBytes: Number(d.totalBytes),
    transferredBytes: Number(d.transferredBytes),
    bytesPerSecond: Math.round(d.bytesPerSecond),
    etaSeconds: d.etaSeconds,
    actualSize: d.actualSize === null ? null : Number(d.actualSize),
    changeId: d.changeId,
    error: d.error,
    startedAt: iso(d.startedAt),
    finishedAt: iso(d.finishedAt),
    verified: d.verified,
    verification: d.verification,
  };
}

export function jobView(j: JobRow & { disks: DiskRow[] }): BackupJob {
  const end = j.finishedAt ?? (j.startedAt ? new Date() : null);
  const durationSeconds = j.startedAt && end ? Math.max(0, (end.getTime() - j.startedAt.getTime()) / 1000) : null;
  const transferred = Number(j.transferredBytes);
  return {
    id: j.id,
    vmName: j.vmName,
    type: j.type as BackupJob["type"],
    mover: j.mover as BackupJob["mover"],
    status: j.status as BackupJob["status"],
    createdAt: j.createdAt.toISOString(),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
    requestedBy: j.requestedBy,
    cancelledBy: j.cancelledBy,
    error: j.error,
    totalBytes: Number(j.totalBytes),
    transferredBytes: transferred,
    durationSeconds: durationSeconds === null ? null : Math.round(durationSeconds * 10) / 10,
    bytesPerSecond: durationSeconds && durationSeconds > 0 ? Math.round(transferred / durationSeconds) : null,
    verified: j.verified,
    verification: j.verification,
    disks: [...j.disks].sort((a, b) => a.position - b.position).map(diskView),
  };
}

export function eventView(e: EventRow): JobEvent {
  return {
    id: Number(e.id),
    at: e.at.toISOString(),
    level: e.level as JobEvent["level"],
    kind: e.kind,
    message: e.message,
    diskId: e.diskId,
  };
}
