"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import type { RestorePage } from "./restore-types";

/** GET /restores: newest first (the first page). */
export function useRestores() {
  return useQuery({
    queryKey: ["restores"],
    queryFn: ({ signal }) => apiFetch<RestorePage>("/restores?limit=100", { signal }),
    refetchInterval: 5_000,
  });
}
