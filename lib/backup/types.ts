// What the backup layer takes from its callers, in its own words. The API's zod schemas
// (lib/api/schemas/backups.ts) are checked to produce exactly these (lib/api/schema-contracts.ts),
// so the domain never imports the HTTP layer.
import type { SourceFormat } from "./source-format";

export type BackupType = "full" | "incremental";
export type Mover = "builtin" | "external";
/** A job's life: queued, running, then one ending. */
export type JobStatus = "queued" | "running" | "completed" | "failed" | "cancelled";
/** A disk's life within its job: pending, its export, the copy, the verification, one ending. */
export type DiskStatus = "pending" | "exporting" | "transferring" | "verifying" | "completed" | "failed" | "cancelled";
export type EventLevel = "info" | "warn" | "error";

type JobBase = {
  vmName: string;
  type: BackupType;
  /** The job fails once it ran this long ("ran past its time limit"); no limit when left out. */
  maxRunSeconds?: number;
  /** A failed disk copy is tried again this many times (built-in mover; 0 when left out). */
  retries?: number;
};

/** A disk nbdhub copies itself: a file under the sources root, or an nbd:// URI. */
export type BuiltinDiskInput = {
  diskId?: string;
  source: string;
  format?: SourceFormat;
  /** NBD sources only: the export's `qemu:dirty-bitmap:NAME` that tracks writes since the last backup. */
  dirtyBitmap?: string;
};
/** A disk an external backup client writes: only its size is known. */
export type ExternalDiskInput = { diskId?: string; sizeBytes: number };

export type StartBackupInput =
  | (JobBase & { mover: "builtin"; disks: BuiltinDiskInput[] })
  | (JobBase & { mover: "external"; disks: ExternalDiskInput[] });

/** An external client's progress report for one disk. */
export type ProgressReport = { transferredBytes: number; totalBytes?: number };

/** An external client's "done": every disk of the job, each with an optional change id. */
export type CompletionReport = { disks: { diskId: string; changeId?: string }[] };

/** Filters of the job history (newest first, keyset-paginated by `cursor`). */
export type JobListFilter = {
  status?: string;
  vmName?: string;
  vmNamePrefix?: string;
  node?: string;
  limit: number;
  cursor?: string;
  from?: string;
  to?: string;
};
