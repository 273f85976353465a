"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import type { DashboardStats } from "./types";

/** GET /stats/dashboard?since=… (`since`: the start of the operator's day, local time). */
export function useDashboardStats(since: string) {
  return useQuery({
    queryKey: queryKeys.dashboardStats(since),
    queryFn: ({ signal }) =>
      apiFetch<DashboardStats>(`/stats/dashboard?since=${encodeURIComponent(since)}`, { signal }),
    refetchInterval: 5_000,
  });
}
