"use client";
// The restore's actions: start (POST /restores), cancel and extend; each writes the answer
// into the restore's cache entry.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import type { Restore, StartRestoreRequest } from "./restore-types";
import { useStart } from "./use-start";

export function useStartRestore() {
  return useStart<StartRestoreRequest, Restore>("/restores", queryKeys.restore, [queryKeys.restores()]);
}

export function useCancelRestore(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => apiFetch<Restore>(`/restores/${encodeURIComponent(id)}/cancel`, { method: "POST" }),
    onSuccess: (restore) => client.setQueryData(queryKeys.restore(id), restore),
    onSettled: () => void client.invalidateQueries({ queryKey: queryKeys.restores() }),
  });
}

export function useExtendRestore(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (ttlSeconds: number) =>
      apiFetch<Restore>(`/restores/${encodeURIComponent(id)}/extend`, { method: "POST", json: { ttlSeconds } }),
    onSuccess: (restore) => client.setQueryData(queryKeys.restore(id), restore),
  });
}
