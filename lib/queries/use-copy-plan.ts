"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { BackupType, CopyPlanView } from "./types";

/** How one disk would be copied if the backup started now (GET /backups/plan); off without a VM name. */
export function useCopyPlan(q: { vmName: string; type: BackupType; source: string; diskId: string }) {
  const params: Record<string, string> = { vmName: q.vmName, type: q.type, source: q.source, diskId: q.diskId };
  return useApiQuery<CopyPlanView>(queryKeys.copyPlan(params), `/backups/plan?${new URLSearchParams(params)}`, {
    enabled: q.vmName.length > 0 && q.source.length > 0,
    staleTime: 10_000,
    retry: false,
  });
}
