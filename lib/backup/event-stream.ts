// Server-sent events for one job: `job` (the whole BackupJob, at most ~4 times a second),
// `log` (each new event-log entry) and `end` (then the stream closes). A comment line every
// 15 s keeps proxies from closing an idle stream.
// Each stream reads the job once when it opens; after that every stream of a job is fed by
// the job's one broadcaster (job-broadcast.ts), and a caller may hold only so many streams.
// A stream ends exactly once, whichever comes first: the job ends, the client goes away
// (cancel / abort), or the job cannot be read.
import "server-only";
import { ApiError } from "@/lib/api/errors";
import type { Actor } from "@/lib/auth/actor";
import type { Runtime } from "@/lib/runtime/runtime";
import { FINAL_JOB_STATUSES, type JobUpdate } from "./job-broadcast";
import { jobWithEvents } from "./queries";

export function tooManyStreams(limit: number): ApiError {
  return new ApiError(
    "too_many_streams",
    429,
    `at most ${limit} live event streams at once per user or token; close another job page (or tab) first`,
    { limit, retryAfterSeconds: 5 },
  );
}

export async function jobEventStream(runtime: Runtime, id: string, actor: Actor, abort: AbortSignal): Promise<Response> {
  const { events } = runtime.backups;
  const limit = runtime.config.maxEventStreamsPerCaller;
  const release = events.streams.take(`${actor.kind}:${actor.id}`, limit);
  if (!release) throw tooManyStreams(limit);
  let initial: Awaited<ReturnType<typeof jobWithEvents>>;
  try {
    initial = await jobWithEvents(runtime.db, id); // 404 before any stream starts
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
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" },
  });
}
