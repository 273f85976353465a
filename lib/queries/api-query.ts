"use client";
// One GET of the API as a React Query hook: the answer cached under its key, the request dropped
// when nothing on the page needs it any more. Each hook names its key, its path and how fresh it
// must be; the few with more to them (paging, the job's event stream, health) write theirs out.
import { useQuery, type QueryKey, type UseQueryOptions } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";

type ApiQueryOptions<T> = Omit<UseQueryOptions<T, Error, T, QueryKey>, "queryKey" | "queryFn">;

export function useApiQuery<T>(queryKey: QueryKey, path: string, options: ApiQueryOptions<T> = {}) {
  return useQuery({ ...options, queryKey, queryFn: ({ signal }) => apiFetch<T>(path, { signal }) });
}
