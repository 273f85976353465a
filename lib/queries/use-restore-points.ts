"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import type { RestorePoint } from "./restore-types";

/** GET /vms/{vmName}/restore-points: newest first, each disk with its chain. */
export function useRestorePoints(vmName: string) {
  return useQuery({
    queryKey: ["vms", vmName, "restore-points"],
    queryFn: ({ signal }) =>
      apiFetch<{ items: RestorePoint[] }>(`/vms/${encodeURIComponent(vmName)}/restore-points`, { signal }),
  });
}
