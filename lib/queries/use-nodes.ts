"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { NodeList } from "./types";

/** GET /nodes: every node on the database with its status, refreshed every 3 s (a heartbeat is 5 s by default). */
export function useNodes() {
  return useApiQuery<NodeList>(queryKeys.nodes(), "/nodes", { refetchInterval: 3_000 });
}
