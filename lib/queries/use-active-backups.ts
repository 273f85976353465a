"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import type { BackupJob, BackupPage } from "./types";

/** Jobs queued or running now, for the dashboard (two small pages of GET /backups). */
export function useActiveBackups() {
  return useQuery({
    queryKey: queryKeys.activeBackups(),
    queryFn: async ({ signal }): Promise<BackupJob[]> => {
      const [running, queued] = await Promise.all([
        apiFetch<BackupPage>("/backups?status=running&limit=20", { signal }),
        apiFetch<BackupPage>("/backups?status=queued&limit=20", { signal }),
      ]);
      return [...running.items, ...queued.items];
    },
    refetchInterval: 3_000,
  });
}
