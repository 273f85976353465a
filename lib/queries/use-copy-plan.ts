"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import type { BackupType, CopyPlanView } from "./types";

/** How one disk would be copied if the backup started now (GET /backups/plan); off without a VM name. */
export function useCopyPlan(q: { vmName: string; type: BackupType; source: string; diskId: string }) {
  const params: Record<string, string> = { vmName: q.vmName, type: q.type, source: q.source, diskId: q.diskId };
  return useQuery({
    queryKey: queryKeys.copyPlan(params),
    queryFn: ({ signal }) => apiFetch<CopyPlanView>(`/backups/plan?${new URLSearchParams(params)}`, { signal }),
    enabled: q.vmName.length > 0 && q.source.length > 0,
    staleTime: 10_000,
    retry: false,
  });
}
