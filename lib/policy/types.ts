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

export type PrunePreview = {
  keep: { jobId: string; reasons: string[] }[];
  remove: { jobId: string; reason: string }[];
  /** Removed points whose data goes into a kept point (added field). */
  merged: string[];
};

export type PruneResult = { removed: string[]; merged: string[] };
