// A job page's cache entry, kept current by the event stream and by the console's own actions.
import type { QueryClient } from "@tanstack/react-query";
import { queryKeys } from "./keys";
import type { BackupJob, JobPageData } from "./types";

/** A newer state of the job (a stream message, a cancel's answer); the event log stays as cached. */
export function mergeJobIntoCache(client: QueryClient, job: BackupJob): void {
  client.setQueryData<JobPageData>(queryKeys.backup(job.id), (old) => ({ ...old, ...job, events: old?.events }));
}
