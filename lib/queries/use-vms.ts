"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import type { VmSummary } from "./restore-types";

/** GET /vms: every VM with a completed backup. */
export function useVms() {
  return useQuery({
    queryKey: ["vms"],
    queryFn: ({ signal }) => apiFetch<{ items: VmSummary[] }>("/vms", { signal }),
    refetchInterval: 10_000,
  });
}
