"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { PortPool } from "./types";

/** The port pool and its allocations (GET /nbd/ports), refreshed every 2 s: cheap, and the pool moves fast. */
export function usePorts() {
  return useApiQuery<PortPool>(queryKeys.ports(), "/nbd/ports", { refetchInterval: 2_000 });
}
