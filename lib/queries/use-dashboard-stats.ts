"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { DashboardStats } from "./types";

/** GET /stats/dashboard?since=… (`since`: the start of the operator's day, local time). */
export function useDashboardStats(since: string) {
  const path = `/stats/dashboard?since=${encodeURIComponent(since)}`;
  return useApiQuery<DashboardStats>(queryKeys.dashboardStats(since), path, { refetchInterval: 5_000 });
}
