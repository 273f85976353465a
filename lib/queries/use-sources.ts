"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { SourceList } from "./types";

/** Disk images under the sources root, for the New backup form. */
export function useSources() {
  return useApiQuery<SourceList>(queryKeys.sources(), "/sources", { staleTime: 30_000 });
}
