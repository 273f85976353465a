"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import { isActiveJob, type JobPageData } from "./types";

/**
 * One job with its disks and event log (GET /backups/{id}). Kept live by useBackupEvents;
 * `poll` turns on a 2 s refetch while the job runs and the event stream is down.
 */
export function useBackupJob(id: string, { poll = false }: { poll?: boolean } = {}) {
  return useQuery({
    queryKey: queryKeys.backup(id),
    queryFn: ({ signal }) => apiFetch<JobPageData>(`/backups/${encodeURIComponent(id)}`, { signal }),
    refetchInterval: (query) => (poll && isActiveJob(query.state.data?.status) ? 2_000 : false),
  });
}
