"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import { isActiveJob, type JobPageData } from "./types";

/**
 * One job with its disks and event log (GET /backups/{id}). Kept live by useBackupEvents;
 * `poll` turns on a 2 s refetch while the job runs and the event stream is down.
 */
export function useBackupJob(id: string, { poll = false }: { poll?: boolean } = {}) {
  return useApiQuery<JobPageData>(queryKeys.backup(id), `/backups/${encodeURIComponent(id)}`, {
    refetchInterval: (query) => (poll && isActiveJob(query.state.data?.status) ? 2_000 : false),
  });
}
