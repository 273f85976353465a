// What a disk would get if a backup started now (GET /backups/plan, the new-backup form): the
// same inspection and plan as POST /backups, and nothing created.
import "server-only";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { conflict, invalid } from "@/lib/errors";
import { SourceBusy } from "./bitmaps";
import { planDisk, previousPoint } from "./copy-plan";
import type { CopyMode } from "./incremental/plan";
import { inspectSource } from "./source";
import { INCREMENTAL_TLS_CODE, INCREMENTAL_TLS_REFUSAL, isTlsNbdSource } from "./incremental/tls-source";
import type { SourceFormat } from "./source-format";

export type PlanQuery = {
  vmName: string;
  type: "full" | "incremental";
  source: string;
  diskId?: string;
  format?: SourceFormat;
  dirtyBitmap?: string;
};

export type CopyPlanView = { copyMode: CopyMode | null; copyReason: string; backingJobId: string | null };

export async function previewPlan(db: Db, config: Config, q: PlanQuery): Promise<CopyPlanView> {
  if (q.type === "incremental" && isTlsNbdSource(q.source)) {
    throw invalid(INCREMENTAL_TLS_CODE, `source: ${INCREMENTAL_TLS_REFUSAL}`, { source: INCREMENTAL_TLS_REFUSAL });
  }
  const source = await inspectSource(config, q.source, "source", q.format);
  if (q.dirtyBitmap && source.kind !== "nbd") {
    const why = "only an NBD source has a dirty bitmap to name (a qcow2 file's bitmaps are nbdhub's own)";
    throw invalid("validation_failed", `dirtyBitmap: ${why}`, { dirtyBitmap: why });
  }
  const diskId = q.diskId ?? "disk0";
  const previous = q.type === "incremental" ? await previousPoint(db, q.vmName, diskId) : null;
  if (q.type === "incremental" && !previous) {
    const copyReason = `no completed backup of disk ${diskId} of ${q.vmName} to build on; run a full backup first`;
    return { copyMode: null, copyReason, backingJobId: null };
  }
  try {
    const plan = await planDisk({ type: q.type, source, previous, dirtyBitmap: q.dirtyBitmap });
    const backingJobId = plan.mode === "full" ? null : plan.backingJobId;
    return { copyMode: plan.mode, copyReason: plan.reason, backingJobId };
  } catch (error) {
    if (!(error instanceof SourceBusy)) throw error;
    throw conflict("source_busy", `source: ${error.message}`, { source: error.message });
  }
}
