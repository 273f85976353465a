"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { VmSummary } from "./restore-types";

/** GET /vms: every VM with a completed backup. */
export function useVms() {
  return useApiQuery<{ items: VmSummary[] }>(queryKeys.vms(), "/vms", { refetchInterval: 10_000 });
}
