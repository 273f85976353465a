"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { RestorePoint } from "./restore-types";

/** GET /vms/{vmName}/restore-points: newest first, each disk with its chain. */
export function useRestorePoints(vmName: string) {
  const path = `/vms/${encodeURIComponent(vmName)}/restore-points`;
  return useApiQuery<{ items: RestorePoint[] }>(queryKeys.restorePoints(vmName), path);
}
