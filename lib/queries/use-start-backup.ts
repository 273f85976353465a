"use client";
import { queryKeys } from "./keys";
import type { BackupJob, NewBackupRequest } from "./types";
import { useStart } from "./use-start";

/** POST /backups → 202 BackupJob. The job page opens with the answer already in the cache. */
export function useStartBackup() {
  return useStart<NewBackupRequest, BackupJob>("/backups", queryKeys.backup, [
    queryKeys.backupLists(),
    queryKeys.stats(),
  ]);
}
