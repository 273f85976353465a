"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import type { BackupJob, NewBackupRequest } from "./types";

/** POST /backups → 202 BackupJob. The job page opens with the answer already in the cache. */
export function useStartBackup() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (request: NewBackupRequest) => apiFetch<BackupJob>("/backups", { method: "POST", json: request }),
    onSuccess: (job) => {
      client.setQueryData(queryKeys.backup(job.id), job);
      void client.invalidateQueries({ queryKey: queryKeys.backupLists() });
      void client.invalidateQueries({ queryKey: queryKeys.stats() });
    },
  });
}
