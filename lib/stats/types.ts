// The dashboard's answers in the stats layer's own words (GET /api/v1/stats/dashboard and
// /stats/pool-history). lib/api/schema-contracts.ts checks that the API's answer schemas
// (lib/api/schemas/stats.ts) describe them exactly; the console's types come from those schemas.
import type { BackupType, JobStatus } from "@/lib/backup/types";

export type DashboardStats = {
  since: string;
  jobsByStatus: Record<JobStatus, number>;
  activeJobs: number;
  bytesPerHour: { hour: string; bytes: number }[];
  lastFailures: {
    id: string;
    vmName: string;
    type: BackupType;
    error: string | null;
    finishedAt: string | null;
    createdAt: string;
    requestedBy: string | null;
  }[];
};

export type PoolHistoryRange = "1h" | "24h";

export type PoolHistory = {
  range: PoolHistoryRange;
  /** The node charted, or null: every node's pool summed. */
  node: string | null;
  from: string;
  to: string;
  bucketSeconds: number;
  points: { at: string; total: number; allocated: number; allocatedMax: number; exports: number; bytesMoved: number }[];
};

/** The repository's space (GET /repository): statfs totals and the bytes the backups hold, per VM. */
export type RepositoryView = {
  path: string;
  totalBytes: number;
  freeBytes: number;
  usedByBackups: number;
  reserveBytes: number;
  vms: { vmName: string; bytes: number; restorePoints: number }[];
};

export type RepositoryPoint = { at: string; totalBytes: number; freeBytes: number; usedByBackups: number };
