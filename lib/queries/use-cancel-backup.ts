"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { mergeJobIntoCache } from "./job-cache";
import { queryKeys } from "./keys";
import { refresh } from "./refresh";
import type { BackupJob } from "./types";

/** POST /backups/{id}/cancel → 202 BackupJob (409 job_finished when it already ended). */
export function useCancelBackup(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => apiFetch<BackupJob>(`/backups/${encodeURIComponent(id)}/cancel`, { method: "POST" }),
    onSuccess: (job) => mergeJobIntoCache(client, job),
    onSettled: () => refresh(client, [queryKeys.backup(id), queryKeys.backupLists()]),
  });
}
