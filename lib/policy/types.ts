// What the policies layer takes and answers, in its own words (decision 013: the API's zod
// schemas in lib/api/schemas/policies.ts are checked against these in lib/api/schema-contracts.ts).
import type { SourceFormat } from "@/lib/backup/source-format";

export type PolicyDisk = { diskId?: string; source: string; format?: SourceFormat; dirtyBitmap?: string };

export type PolicyRetention = { keepLast: number; keepDaily: number; keepWeekly: number; keepMonthly: number };

export type PolicyInput = {
  name: string;
  vmName: string;
  disks: PolicyDisk[];
  schedule: string;
  timezone: string;
  fullEvery: number;
  retention: PolicyRetention;
  enabled: boolean;
  /** Passed to the job once the runner takes them (the stalls work); stored until then. */
  maxRunSeconds?: number | null;
  retries?: number | null;
};

export type PolicyPatch = Partial<Omit<PolicyInput, "retention">> & { retention?: Partial<PolicyRetention> };

export type PolicyRunStatus = "starting" | "started" | "skipped" | "failed_to_start";

export type PolicyRunView = {
  at: string;
  slot: string | null;
  trigger: "schedule" | "manual";
  status: PolicyRunStatus;
  reason: string | null;
  jobId: string | null;
  jobType: string | null;
  /** The job's own status (queued, running, completed, failed, cancelled), when there is a job. */
  jobStatus: string | null;
};

export type PolicyView = Required<PolicyInput> & {
  id: string;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastJobId: string | null;
  /** The latest run (a started, skipped or failed slot, or a Run now), for the console. */
  lastRun: PolicyRunView | null;
  createdAt: string;
};

/** One node's preview of its own points (what it answers another node, decision 033). */
export type NodePrunePreview = {
  keep: { jobId: string; reasons: string[] }[];
  remove: { jobId: string; reason: string }[];
  merged: string[];
};

/** A node that holds points of the VM but did not prune (or preview) them, and why. */
export type PruneSkipped = { node: string; code: string; reason: string };

export type PrunePreview = {
  /** Each point names the node that holds it (and would prune it). */
  keep: { jobId: string; reasons: string[]; node: string }[];
  remove: { jobId: string; reason: string; node: string }[];
  /** Removed points whose data goes into a kept point (added field). */
  merged: string[];
  /** Nodes holding points that were not asked (lost) or did not answer: their points are left alone. */
  skipped: PruneSkipped[];
};

export type PruneResult = { removed: string[]; merged: string[]; skipped: PruneSkipped[] };
