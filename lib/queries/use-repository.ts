"use client";
// The repository's space (GET /repository) and its use over time (GET /repository/history) for
// the dashboard. Types are the API's (docs/api.md "Repository and notifications").
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import type { RepositoryPoint, RepositoryView } from "@/lib/stats/types";
import { queryKeys } from "./keys";

export type { RepositoryPoint } from "@/lib/stats/types";
export type RepositorySpace = RepositoryView;

export function useRepository() {
  return useQuery({
    queryKey: queryKeys.repository(),
    queryFn: ({ signal }) => apiFetch<RepositorySpace>("/repository", { signal }),
    refetchInterval: 30_000,
  });
}

/** Sampled on the server at most once a minute, so a minute's refresh is enough. */
export function useRepositoryHistory(hours: number) {
  return useQuery({
    queryKey: queryKeys.repositoryHistory(hours),
    queryFn: ({ signal }) => apiFetch<{ points: RepositoryPoint[] }>(`/repository/history?hours=${hours}`, { signal }),
    refetchInterval: 60_000,
  });
}
