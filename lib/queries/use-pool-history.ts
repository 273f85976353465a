"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { PoolHistory, PoolHistoryRange } from "./types";

/** GET /stats/pool-history?range=1h|24h: the pool sampled on the server, downsampled. */
export function usePoolHistory(range: PoolHistoryRange) {
  return useApiQuery<PoolHistory>(queryKeys.poolHistory(range), `/stats/pool-history?range=${range}`, {
    refetchInterval: range === "1h" ? 5_000 : 60_000,
  });
}
