// Database rows → the API's BackupJob and BackupDisk shapes (docs/api.md), built field by field so
// a new column never leaks. BigInt sizes become JSON integers.
import "server-only";
import type { BackupDisk as DiskRow, BackupJob as JobRow, JobEvent as EventRow } from "@/lib/generated/prisma/client";
import type { SourceFormat } from "./source-format";
import type { CopyMode } from "./incremental/plan";
import type { BackupType, DiskStatus, EventLevel, JobStatus, Mover } from "./types";
import type { ExportTlsKey } from "@/lib/nbd/types";

// The database keeps these as text; only nbdhub writes them, with the values of the types here.
// lib/api/schema-contracts.ts checks that the API's answer schemas describe these views exactly.

export type BackupDiskView = {
  diskId: string;
  source: string;
  /** How the source was opened (null on rows from before formats were recorded). */
  sourceFormat: SourceFormat | null;
  targetPath: string | null;
  backingPath: string | null;
  port: number | null;
  exportName: string | null;
  nbdUri: string | null;
  pid: number | null;
  status: DiskStatus;
  totalBytes: number;
  transferredBytes: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  actualSize: number | null;
  changeId: string | null;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** The target was compared with its source (false: only checked, or not completed). */
  verified: boolean;
  /** What the verification compared with what, once the disk completed; else null. */
  verification: string | null;
  /** While the copy is stalled: when its progress last moved (ISO time); else null. */
  stalledSince: string | null;
  /** Which try of the disk's copy this is (1 for the first). */
  attempt: number;
  /** full | changed-blocks | content-diff; null for an external client's disk. */
  copyMode: CopyMode | null;
  /** Why that mode, in a sentence (the plan, or the fallback that replaced it). */
  copyReason: string | null;
  /** The job whose point an incremental builds on. */
  backingJobId: string | null;
  /** Bytes the source reported changed or that were found different; null for a full copy. */
  changedBytes: number | null;
  /** The NBD source's dirty bitmap the request named. */
  dirtyBitmap: string | null;
  /** While an incremental copies: what its progress counts (bytes to move, or to examine). */
  progressDoneBytes: number | null;
  progressTotalBytes: number | null;
  /**
   * The export's pre-shared key (NBDHUB_NBD_TLS=required): only in the 202 answer that started
   * an external job, never in a later answer.
   */
  tls?: ExportTlsKey;
};

export type BackupJobView = {
  id: string;
  /** The node that runs the job. */
  node: string;
  vmName: string;
  type: BackupType;
  mover: Mover;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  requestedBy: string | null;
  cancelledBy: string | null;
  error: string | null;
  totalBytes: number;
  transferredBytes: number;
  durationSeconds: number | null;
  bytesPerSecond: number | null;
  /** Every disk was compared with its source. */
  verified: boolean;
  verification: string | null;
  /** The job fails once it ran this long; null: no limit. */
  maxRunSeconds: number | null;
  /** How many times a failed disk copy is tried again. */
  retries: number;
  disks: BackupDiskView[];
};

export type JobEventView = {
  id: number;
  at: string;
  level: EventLevel;
  kind: string;
  message: string;
  diskId: string | null;
};

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const num = (n: bigint | null) => (n === null ? null : Number(n));

export function diskView(d: DiskRow): BackupDiskView {
  return {
    diskId: d.diskId,
    source: d.source,
    sourceFormat: d.sourceFormat as SourceFormat | null,
    targetPath: d.targetPath,
    backingPath: d.backingPath,
    port: d.port,
    exportName: d.exportName,
    nbdUri: d.nbdUri,
    pid: d.pid,
    status: d.status as DiskStatus,
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
    stalledSince: iso(d.stalledSince),
    attempt: d.attempt,
    copyMode: d.copyMode as CopyMode | null,
    copyReason: d.copyReason,
    backingJobId: d.backingJobId,
    changedBytes: num(d.changedBytes),
    dirtyBitmap: d.dirtyBitmap,
    progressDoneBytes: num(d.progressDoneBytes),
    progressTotalBytes: num(d.progressTotalBytes),
  };
}

export function jobView(j: JobRow & { disks: DiskRow[] }): BackupJobView {
  const end = j.finishedAt ?? (j.startedAt ? new Date() : null);
  const durationSeconds = j.startedAt && end ? Math.max(0, (end.getTime() - j.startedAt.getTime()) / 1000) : null;
  const transferred = Number(j.transferredBytes);
  return {
    id: j.id,
    node: j.node,
    vmName: j.vmName,
    type: j.type as BackupType,
    mover: j.mover as Mover,
    status: j.status as JobStatus,
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
    maxRunSeconds: j.maxRunSeconds,
    retries: j.retries,
    disks: [...j.disks].sort((a, b) => a.position - b.position).map(diskView),
  };
}

export function eventView(e: EventRow): JobEventView {
  return {
    id: Number(e.id),
    at: e.at.toISOString(),
    level: e.level as EventLevel,
    kind: e.kind,
    message: e.message,
    diskId: e.diskId,
  };
}
