// The API's answers as the console sees them: the types come from the response schemas in
// lib/api/schemas (the same ones the server's serializers declare), so there is no copy to keep
// in step. Only what is the console's own is defined here.
import type { BackupJob, JobEvent, JobStatus, StartBackupRequest } from "@/lib/api/schemas/backups";
import type { ExportStatus } from "@/lib/api/schemas/nbd";

export type {
  BackupDisk,
  BackupJob,
  BackupPage,
  BackupType,
  CopyMode,
  CopyPlanView,
  DiskStatus,
  JobEvent,
  JobStatus,
} from "@/lib/api/schemas/backups";
export type { Allocation, Export, ExportList, ExportStatus, PortPool } from "@/lib/api/schemas/nbd";
export type { NodeEntry, NodeList } from "@/lib/api/schemas/nodes";
export type { Source, SourceList } from "@/lib/api/schemas/sources";
export type { DashboardStats, PoolHistory, PoolHistoryRange } from "@/lib/api/schemas/stats";

/**
 * A job in the cache of its page: GET /backups/{id} answers it with its event log; the answer to
 * POST /backups, a cancel, or the event stream's `job` message come without one.
 */
export type JobPageData = BackupJob & { events?: JobEvent[] };

/** What the New backup form sends: disk image paths or NBD URIs, copied by the hub itself. */
export type NewBackupRequest = Omit<Extract<StartBackupRequest, { mover: "builtin" }>, "mover">;

export const isActiveJob = (status: JobStatus | undefined) => status === "queued" || status === "running";
export const RUNNING_EXPORT_STATUSES: ExportStatus[] = ["starting", "ready", "stopping"];
