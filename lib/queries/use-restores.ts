"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { RestorePage } from "./restore-types";

/** GET /restores: newest first (the first page). */
export function useRestores() {
  return useApiQuery<RestorePage>(queryKeys.restores(), "/restores?limit=100", { refetchInterval: 5_000 });
}
