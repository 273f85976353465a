"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import type { SourceList } from "./types";

/** Disk images under the sources root, for the New backup form. */
export function useSources() {
  return useQuery({
    queryKey: queryKeys.sources(),
    queryFn: () => apiFetch<SourceList>("/sources"),
    staleTime: 30_000,
  });
}
