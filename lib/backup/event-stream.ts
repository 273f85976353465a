// Server-sent events for one job: `job` (the whole BackupJob, at most ~4 times a second),
// `log` (each new event-log entry) and `end` (then the stream closes). A comment line every
// 15 s keeps proxies from closing an idle stream.
// Each stream reads the job once when it opens; after that every stream of a job is fed by
// the job's one broadcaster (job-broadcast.ts), and a caller may hold only so many streams.
// A stream ends exactly once, whichever comes first: the job ends, the client goes away
// (cancel / abort), or the job cannot be read.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import type { JobEvents } from "./events";
import { FINAL_JOB_STATUSES, type JobUpdate } from "./job-broadcast";
import { jobWithEvents } from "./job-reads";
import { openEventStream, type StreamCaller } from "./server-sent-events";

export type { StreamCaller } from "./server-sent-events";

/** What a stream needs: the job reads, the job's broadcaster and slots, and the per-caller cap. */
export type EventStreamDeps = { db: Db; events: JobEvents; maxStreamsPerCaller: number };

export async function jobEventStream(
  deps: EventStreamDeps,
  id: string,
  caller: StreamCaller,
  abort: AbortSignal,
): Promise<Response> {
  const { events } = deps;
  return openEventStream({
    streams: events.streams,
    limit: deps.maxStreamsPerCaller,
    caller,
    abort,
    closeWhat: "another job page (or tab)",
    load: () => jobWithEvents(deps.db, id),
    feed(initial, sink) {
      const onUpdate = (update: JobUpdate) => {
        if (update.type === "log") sink.send("log", update.event);
        else if (update.type === "job") sink.send("job", update.job);
        else if (update.type === "end") {
          sink.send("end", { status: update.status });
          sink.end();
        } else sink.end();
      };
      const unsubscribe = events.broadcast.subscribe(id, onUpdate);
      const { events: log, ...job } = initial;
      sink.send("job", job);
      for (const entry of log) sink.send("log", entry);
      if (FINAL_JOB_STATUSES.has(job.status)) {
        sink.send("end", { status: job.status });
        sink.end();
      }
      // Anything that happened between the first read and subscribing: one read, shared.
      else events.broadcast.refresh(id);
      return unsubscribe;
    },
  });
}
