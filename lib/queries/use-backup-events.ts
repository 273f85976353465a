"use client";
// Live updates of one job over server-sent events (GET /backups/{id}/events), written into the
// React Query cache. Messages: `job` (the whole BackupJob), `disk` (one BackupDisk), `log` (one
// event of the job's log), `end` (the job ended; the server closes the stream).
// A dropped stream reconnects with backoff and the state says so; after a reconnect the job is
// refetched, so nothing missed while away is lost.
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { mergeJobIntoCache } from "./job-cache";
import { queryKeys } from "./keys";
import { refresh } from "./refresh";
import { isActiveJob, type BackupDisk, type BackupJob, type JobEvent, type JobPageData } from "./types";

export type StreamState = "idle" | "connecting" | "live" | "reconnecting" | "ended";

function parse<T>(data: string): T | undefined {
  try {
    return JSON.parse(data) as T;
  } catch {
    return undefined;
  }
}

function mergeDisk(client: QueryClient, id: string, disk: BackupDisk) {
  client.setQueryData<JobPageData>(queryKeys.backup(id), (old) =>
    old ? { ...old, disks: old.disks.map((d) => (d.diskId === disk.diskId ? { ...d, ...disk } : d)) } : old,
  );
}

function appendLog(client: QueryClient, id: string, event: JobEvent) {
  client.setQueryData<JobPageData>(queryKeys.backup(id), (old) => {
    if (!old) return old;
    const events = old.events ?? [];
    if (events.some((e) => String(e.id) === String(event.id))) return old;
    return { ...old, events: [...events, event] };
  });
}

function afterEnd(client: QueryClient, id: string) {
  refresh(client, [queryKeys.backup(id), queryKeys.backupLists(), queryKeys.ports(), queryKeys.exports()]);
}

export function useBackupEvents(id: string, { enabled }: { enabled: boolean }): StreamState {
  const client = useQueryClient();
  const [state, setState] = useState<StreamState>("idle");

  useEffect(() => {
    if (!enabled || typeof EventSource === "undefined") return;
    let source: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let closed = false;
    let wasLive = false;

    const finish = () => {
      closed = true;
      source?.close();
      setState("ended");
      afterEnd(client, id);
    };

    const connect = () => {
      if (closed) return;
      setState(wasLive || attempt > 0 ? "reconnecting" : "connecting");
      source = new EventSource(`/api/v1/backups/${encodeURIComponent(id)}/events`);
      source.onopen = () => {
        if (wasLive || attempt > 0) void client.invalidateQueries({ queryKey: queryKeys.backup(id) });
        attempt = 0;
        wasLive = true;
        setState("live");
      };
      source.addEventListener("job", (e) => {
        const job = parse<BackupJob>((e as MessageEvent<string>).data);
        if (!job) return;
        mergeJobIntoCache(client, job);
        if (!isActiveJob(job.status)) finish();
      });
      source.addEventListener("disk", (e) => {
        const disk = parse<BackupDisk>((e as MessageEvent<string>).data);
        if (disk?.diskId) mergeDisk(client, id, disk);
      });
      source.addEventListener("log", (e) => {
        const event = parse<JobEvent>((e as MessageEvent<string>).data);
        if (event?.message) appendLog(client, id, event);
      });
      source.addEventListener("end", finish);
      // Unnamed messages: recognise the payload by its shape.
      source.onmessage = (e) => {
        const data = parse<Record<string, unknown>>(e.data);
        if (!data) return;
        if (Array.isArray(data.disks) && typeof data.status === "string") {
          mergeJobIntoCache(client, data as unknown as BackupJob);
          if (!isActiveJob(data.status as BackupJob["status"])) finish();
        } else if (typeof data.kind === "string" && typeof data.message === "string")
          appendLog(client, id, data as unknown as JobEvent);
      };
      source.onerror = () => {
        if (closed) return;
        setState("reconnecting");
        // EventSource retries by itself while CONNECTING; a refused stream (CLOSED) is ours to retry.
        if (source?.readyState === EventSource.CLOSED) {
          source.close();
          attempt += 1;
          retry = setTimeout(
            async () => {
              // The job may have ended while we were away: then there is nothing to follow.
              await client.invalidateQueries({ queryKey: queryKeys.backup(id) });
              const job = client.getQueryData<JobPageData>(queryKeys.backup(id));
              if (job && !isActiveJob(job.status)) finish();
              else connect();
            },
            Math.min(15_000, 1_000 * 2 ** Math.min(attempt - 1, 4)),
          );
        }
      };
    };

    connect();
    return () => {
      closed = true;
      clearTimeout(retry);
      source?.close();
    };
  }, [client, id, enabled]);

  return enabled ? state : "idle";
}
