"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import type { PortPool } from "./types";

/** The port pool and its allocations (GET /nbd/ports), refreshed every 2 s: cheap, and the pool moves fast. */
export function usePorts() {
  return useQuery({
    queryKey: queryKeys.ports(),
    queryFn: () => apiFetch<PortPool>("/nbd/ports"),
    refetchInterval: 2_000,
  });
}
