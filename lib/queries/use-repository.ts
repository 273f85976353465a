"use client";
// The repository's space (GET /repository) and its use over time (GET /repository/history) for
// the dashboard. Types are the API's (docs/api.md "Repository and notifications").
import type { RepositoryPoint, RepositoryView } from "@/lib/stats/types";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";

export type { RepositoryPoint } from "@/lib/stats/types";
export type RepositorySpace = RepositoryView;

export function useRepository() {
  return useApiQuery<RepositorySpace>(queryKeys.repository(), "/repository", { refetchInterval: 30_000 });
}

/** Sampled on the server at most once a minute, so a minute's refresh is enough. */
export function useRepositoryHistory(hours: number) {
  const path = `/repository/history?hours=${hours}`;
  return useApiQuery<{ points: RepositoryPoint[] }>(queryKeys.repositoryHistory(hours), path, {
    refetchInterval: 60_000,
  });
}
