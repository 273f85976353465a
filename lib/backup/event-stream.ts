// Server-sent events for one job: `job` (the whole BackupJob, at most ~4 times a second),
// `log` (each new event-log entry) and `end` (then the stream closes). A comment line every
// 15 s keeps proxies from closing an idle stream.
// Each stream reads the job once when it opens; after that every stream of a job is fed by
// the job's one broadcaster (job-broadcast.ts), and a caller may hold only so many streams.
// A stream ends exactly once, whichever comes first: the job ends, the client goes away
// (cancel / abort), or the job cannot be read.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { tooMany } from "@/lib/errors";
import type { JobEvents } from "./events";
import { FINAL_JOB_STATUSES, type JobUpdate } from "./job-broadcast";
import { jobWithEvents } from "./job-reads";

/** What a stream needs: the job reads, the job's broadcaster and slots, and the per-caller cap. */
export type EventStreamDeps = { db: Db; events: JobEvents; maxStreamsPerCaller: number };

/** Whose stream it is: streams are counted per user or token. */
export type StreamCaller = { kind: string; id: string };

function tooManyStreams(limit: number) {
  return tooMany(
    "too_many_streams",
    `at most ${limit} live event streams at once per user or token; close another job page (or tab) first`,
    { limit, retryAfterSeconds: 5 },
  );
}

export async function jobEventStream(
  deps: EventStreamDeps,
  id: string,
  caller: StreamCaller,
  abort: AbortSignal,
): Promise<Response> {
  const { events, maxStreamsPerCaller: limit } = deps;
  const release = events.streams.take(`${caller.kind}:${caller.id}`, limit);
  if (!release) throw tooManyStreams(limit);
  let initial: Awaited<ReturnType<typeof jobWithEvents>>;
  try {
    initial = await jobWithEvents(deps.db, id); // 404 before any stream starts
  } catch (error) {
    release();
    throw error;
  }
  const encoder = new TextEncoder();
  let end = release;

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let ended = false;
      let unsubscribe = () => undefined as void;
      const send = (event: string, data: unknown) => {
        if (ended) return;
        try {
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        } catch {
          end(); // the client is gone
        }
      };
      const heartbeat = setInterval(() => {
        if (ended) return;
        try {
          controller.enqueue(encoder.encode(": keep-alive\n\n"));
        } catch {
          end();
        }
      }, 15_000);
      end = () => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        unsubscribe();
        abort.removeEventListener("abort", end);
        release();
        try {
          controller.close();
        } catch {
          // Already cancelled by the client: nothing left to close.
        }
      };
      const onUpdate = (update: JobUpdate) => {
        if (update.type === "log") send("log", update.event);
        else if (update.type === "job") send("job", update.job);
        else if (update.type === "end") {
          send("end", { status: update.status });
          end();
        } else end();
      };
      unsubscribe = events.broadcast.subscribe(id, onUpdate);
      abort.addEventListener("abort", end);
      const { events: log, ...job } = initial;
      send("job", job);
      for (const entry of log) send("log", entry);
      if (FINAL_JOB_STATUSES.has(job.status)) {
        send("end", { status: job.status });
        end();
      } else if (abort.aborted) end();
      // Anything that happened between the first read and subscribing: one read, shared.
      else events.broadcast.refresh(id);
    },
    cancel() {
      end();
    },
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
    },
  });
}
