"use client";
// Starting a backup or a restore: POST its request, and the answer (the job or the restore as it
// now stands) goes into that thing's own cache entry, so its page opens with it at once; the lists
// it joins are read again.
import { useMutation, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { refresh } from "./refresh";

type Started = { id: string };

export function useStart<B, T extends Started>(path: string, entryOf: (id: string) => QueryKey, lists: QueryKey[]) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: B) => apiFetch<T>(path, { method: "POST", json: body }),
    onSuccess: (started) => {
      client.setQueryData(entryOf(started.id), started);
      refresh(client, lists);
    },
  });
}
