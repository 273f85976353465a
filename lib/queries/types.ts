// The API's shapes as the console sees them (docs/api.md). Client-side copies on purpose:
// pages must not import server modules, and a field the API adds later is simply unused here.

export type JobStatus = "queued" | "running" | "completed" | "failed" | "cancelled";
export type DiskStatus = "pending" | "exporting" | "transferring" | "verifying" | "completed" | "failed" | "cancelled";
import type { ExportInfo, ExportStatus } from "@/lib/nbd/types";

export type { ExportStatus };
export type BackupType = "full" | "incremental";

export type BackupDisk = {
  diskId: string;
  source: string;
  targetPath: string | null;
  port: number | null;
  exportName: string | null;
  nbdUri: string | null;
  pid: number | null;
  status: DiskStatus;
  totalBytes: number;
  transferredBytes: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  error: string | null;
  sourceFormat?: string | null;
  startedAt?: string | null;
  finishedAt?: string | null;
  /** The target was compared with its source; `verification` says what was checked (null until completed). */
  verified?: boolean;
  verification?: string | null;
  /** While the copy is stalled: when its progress last moved; else null. */
  stalledSince?: string | null;
  /** Which try of the disk's copy this is (1 for the first). */
  attempt?: number;
  /** How the disk was copied, and why (decision 010); null for an external client's disk. */
  copyMode?: CopyMode | null;
  copyReason?: string | null;
  /** The job whose point an incremental builds on. */
  backingJobId?: string | null;
  /** Bytes found changed (null for a full copy). */
  changedBytes?: number | null;
  dirtyBitmap?: string | null;
  /** While an incremental copies: what its progress counts (bytes to move, or to examine). */
  progressDoneBytes?: number | null;
  progressTotalBytes?: number | null;
};

export type CopyMode = "full" | "changed-blocks" | "content-diff";

/** GET /backups/plan: what a disk would get if a backup started now. */
export type CopyPlanView = {
  copyMode: CopyMode | null;
  copyReason: string;
  backingJobId: string | null;
};

export type JobEvent = {
  id: string | number;
  at: string;
  level: "info" | "warn" | "error";
  kind: string;
  message: string;
  diskId: string | null;
};

export type BackupJob = {
  id: string;
  vmName: string;
  type: BackupType;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  requestedBy: string | null;
  error: string | null;
  totalBytes: number;
  transferredBytes: number;
  disks: BackupDisk[];
  mover?: "builtin" | "external";
  cancelledBy?: string | null;
  /** Seconds from start to end (or to now while running), when the server sends it. */
  durationSeconds?: number | null;
  /** Average rate over the job's duration, when the server sends it. */
  bytesPerSecond?: number | null;
  /** Every disk was compared with its source; `verification` sums it up (null until completed). */
  verified?: boolean;
  verification?: string | null;
  /** The job fails once it ran this long; null: no limit. */
  maxRunSeconds?: number | null;
  /** How many times a failed disk copy is tried again. */
  retries?: number;
  /** Only on GET /backups/{id}: the job's event log, oldest first. */
  events?: JobEvent[];
};

export type BackupPage = { items: BackupJob[]; nextCursor: string | null };

export type StartBackupRequest = {
  vmName: string;
  type: BackupType;
  disks: { diskId?: string; source: string; dirtyBitmap?: string }[];
};

export type Allocation = { port: number; jobId: string; vmName: string; exportName: string; allocatedAt: string };

export type PortPool = {
  range: { min: number; max: number };
  total: number;
  allocated: number;
  available: number;
  utilizationPercent: number;
  allocations: Allocation[];
};

/** docs/api.md `Export`: the same shape the server answers with. */
export type Export = ExportInfo;

export type ExportList = { count: number; processes: Export[] };

/** `problem`: why this image cannot be backed up (a qcow2 naming another file), or null. */
export type Source = {
  path: string;
  name: string;
  format: string;
  virtualSize: number;
  actualSize: number;
  modifiedAt: string;
  problem?: string | null;
};

export type SourceList = { items: Source[]; truncated?: boolean };

export type DashboardStats = {
  since: string;
  jobsByStatus: Record<JobStatus, number>;
  /** Jobs queued or running now, whenever they were created. */
  activeJobs: number;
  bytesPerHour: { hour: string; bytes: number }[];
  lastFailures: { id: string; vmName: string; type: BackupType; error: string | null; finishedAt: string | null; createdAt: string; requestedBy: string | null }[];
};

export type { PoolHistory, PoolHistoryRange } from "@/lib/stats/types";

export const ACTIVE_JOB_STATUSES: JobStatus[] = ["queued", "running"];
export const isActiveJob = (status: JobStatus | undefined) => status === "queued" || status === "running";
export const RUNNING_EXPORT_STATUSES: ExportStatus[] = ["starting", "ready", "stopping"];
