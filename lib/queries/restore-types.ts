// The restore shapes as the console sees them, derived from the API's schemas
// (lib/api/schemas/restores.ts), so the two cannot drift.
import type { z } from "zod";
import type {
  restorePage,
  restorePointView,
  restoreView,
  startRestoreBody,
  vmSummaryView,
} from "@/lib/api/schemas/restores";

export type Restore = z.infer<typeof restoreView>;
export type RestoreDisk = Restore["disks"][number];
export type RestoreStatus = Restore["status"];
export type RestorePage = z.infer<typeof restorePage>;
export type RestorePoint = z.infer<typeof restorePointView>;
export type VmSummary = z.infer<typeof vmSummaryView>;
export type StartRestoreRequest = z.input<typeof startRestoreBody>;

export const isActiveRestore = (status: RestoreStatus | undefined) =>
  status === "queued" || status === "running" || status === "ready";
