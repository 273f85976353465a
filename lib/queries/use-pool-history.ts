"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { PoolHistory, PoolHistoryRange } from "./types";

/** GET /stats/pool-history?range=1h|24h[&node=]: one node's pool, or every node's summed, downsampled. */
export function usePoolHistory(range: PoolHistoryRange, node?: string) {
  const query = new URLSearchParams({ range });
  if (node) query.set("node", node);
  return useApiQuery<PoolHistory>(queryKeys.poolHistory(range, node), `/stats/pool-history?${query}`, {
    refetchInterval: range === "1h" ? 5_000 : 60_000,
  });
}
