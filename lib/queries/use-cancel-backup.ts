"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import type { BackupJob } from "./types";

/** POST /backups/{id}/cancel → 202 BackupJob (409 job_finished when it already ended). */
export function useCancelBackup(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => apiFetch<BackupJob>(`/backups/${encodeURIComponent(id)}/cancel`, { method: "POST" }),
    onSuccess: (job) => {
      client.setQueryData<BackupJob>(queryKeys.backup(id), (old) => ({ ...old, ...job, events: job.events ?? old?.events }));
    },
    onSettled: () => {
      void client.invalidateQueries({ queryKey: queryKeys.backup(id) });
      void client.invalidateQueries({ queryKey: queryKeys.backupLists() });
    },
  });
}
