"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import type { PoolHistory, PoolHistoryRange } from "./types";

/** GET /stats/pool-history?range=1h|24h: the pool sampled on the server, downsampled. */
export function usePoolHistory(range: PoolHistoryRange) {
  return useQuery({
    queryKey: queryKeys.poolHistory(range),
    queryFn: ({ signal }) => apiFetch<PoolHistory>(`/stats/pool-history?range=${range}`, { signal }),
    refetchInterval: range === "1h" ? 5_000 : 60_000,
  });
}
