// What the restore layer takes and answers, in its own words (docs/api.md "Restore points and
// restores"). The API's zod schemas (lib/api/schemas/restores.ts) are checked against these in
// lib/api/schema-contracts.ts, so lib/restore never imports the HTTP layer.
import type { ExportTlsKey } from "@/lib/nbd/types";

export type RestoreMode = "export" | "copy";
export type RestoreStatus = "queued" | "running" | "ready" | "completed" | "failed" | "cancelled" | "expired";
export type RestoreDiskStatus =
  "pending" | "exporting" | "ready" | "transferring" | "verifying" | "completed" | "failed" | "cancelled" | "expired";

/** Copy mode's destination: a new file under the sources root, or an NBD export on an allowed host. */
export type RestoreDestination = { path: string; format?: "raw" | "qcow2" } | { nbd: string };

export type StartRestoreInput = {
  jobId: string;
  disks?: string[];
  mode: RestoreMode;
  destination?: RestoreDestination;
  ttlSeconds?: number;
};

export type RestoreListFilter = {
  status?: RestoreStatus;
  vmName?: string;
  node?: string;
  limit: number;
  cursor?: string;
};

export type RestoreDiskView = {
  diskId: string;
  port: number | null;
  nbdUri: string | null;
  exportName: string | null;
  pid: number | null;
  destination: RestoreDestination | null;
  status: RestoreDiskStatus;
  totalBytes: number;
  transferredBytes: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  error: string | null;
  /** The point's file, then its backing files. */
  chain: string[];
  /** When transferredBytes last moved (copy mode), else null: what stall rules look at. */
  progressAt: string | null;
  /** Copy mode: while the copy does not move, when its progress last moved (the stall rule); else null. */
  stalledSince: string | null;
  /** Export mode with NBDHUB_NBD_TLS=required: the export's key, in the 202 answer only. */
  tls?: ExportTlsKey;
};

export type RestoreView = {
  id: string;
  /** The node that serves or copies it. */
  node: string;
  jobId: string;
  vmName: string;
  mode: RestoreMode;
  status: RestoreStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  expiresAt: string | null;
  requestedBy: string | null;
  error: string | null;
  disks: RestoreDiskView[];
};

export type RestorePage = { items: RestoreView[]; nextCursor: string | null };

export type RestorePointDiskView = {
  diskId: string;
  path: string;
  chain: string[];
  virtualSize: number;
  actualSize: number | null;
};

export type RestorePointView = {
  jobId: string;
  vmName: string;
  type: string;
  completedAt: string;
  verified: boolean;
  disks: RestorePointDiskView[];
};

export type VmSummaryView = {
  vmName: string;
  disks: string[];
  restorePoints: number;
  lastBackupAt: string;
  lastStatus: string;
  repositoryBytes: number;
};
