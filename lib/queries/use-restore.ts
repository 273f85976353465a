"use client";
// One restore, live: GET /restores/{id}, kept fresh by its event stream (GET /restores/{id}/events:
// `restore` carries the whole Restore, `end` closes it); polled every 2 s while the stream is down.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import { isActiveRestore, type Restore } from "./restore-types";

export function useRestore(id: string) {
  const client = useQueryClient();
  const [live, setLive] = useState(false);
  const query = useApiQuery<Restore>(queryKeys.restore(id), `/restores/${encodeURIComponent(id)}`, {
    refetchInterval: (q) => (!live && isActiveRestore(q.state.data?.status) ? 2_000 : false),
  });
  const active = isActiveRestore(query.data?.status);
  useEffect(() => {
    if (!active || typeof EventSource === "undefined") return;
    const source = new EventSource(`/api/v1/restores/${encodeURIComponent(id)}/events`);
    source.onopen = () => setLive(true);
    source.addEventListener("restore", (e) => {
      try {
        client.setQueryData(queryKeys.restore(id), JSON.parse((e as MessageEvent<string>).data) as Restore);
      } catch {
        /* a broken message: the next one, or the poll, brings the state */
      }
    });
    const stop = () => {
      source.close();
      setLive(false);
      void client.invalidateQueries({ queryKey: queryKeys.restores() });
    };
    source.addEventListener("end", stop);
    source.onerror = () => setLive(false);
    return () => {
      source.close();
      setLive(false);
    };
  }, [active, client, id]);
  return { ...query, live };
}
