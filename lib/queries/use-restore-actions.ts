"use client";
// The restore's actions: start (POST /restores), cancel and extend; each writes the answer
// into the restore's cache entry.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import type { Restore, StartRestoreRequest } from "./restore-types";
import { restoreKey } from "./use-restore";

export function useStartRestore() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: StartRestoreRequest) => apiFetch<Restore>("/restores", { method: "POST", json: body }),
    onSuccess: (restore) => {
      client.setQueryData(restoreKey(restore.id), restore);
      void client.invalidateQueries({ queryKey: ["restores"] });
    },
  });
}

export function useCancelRestore(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => apiFetch<Restore>(`/restores/${encodeURIComponent(id)}/cancel`, { method: "POST" }),
    onSuccess: (restore) => client.setQueryData(restoreKey(id), restore),
    onSettled: () => void client.invalidateQueries({ queryKey: ["restores"] }),
  });
}

export function useExtendRestore(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (ttlSeconds: number) =>
      apiFetch<Restore>(`/restores/${encodeURIComponent(id)}/extend`, { method: "POST", json: { ttlSeconds } }),
    onSuccess: (restore) => client.setQueryData(restoreKey(id), restore),
  });
}
