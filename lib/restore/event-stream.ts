// Server-sent events for one restore, as for a backup job: `restore` (the whole Restore, at
// most ~4 times a second, on every change the coordinator signals) and `end` (then the stream
// closes). A comment line every 15 s keeps proxies from closing an idle stream. Streams count
// against the same per-caller cap as the job streams (the slots are shared).
import "server-only";
import type { EventEmitter } from "node:events";
import type { StreamSlots } from "@/lib/backup/stream-slots";
import type { Db } from "@/lib/db/prisma";
import { tooMany } from "@/lib/errors";
import { ACTIVE_RESTORE_STATUSES } from "./in-use";
import { getRestore } from "./reads";
import type { RestoreView } from "./types";

export type RestoreStreamDeps = {
  db: Db;
  bus: EventEmitter;
  channel(id: string): string;
  streams: StreamSlots;
  maxStreamsPerCaller: number;
};

const THROTTLE_MS = 250;
const isFinal = (r: RestoreView) => !(ACTIVE_RESTORE_STATUSES as readonly string[]).includes(r.status);

export async function restoreEventStream(
  deps: RestoreStreamDeps,
  id: string,
  caller: { kind: string; id: string },
  abort: AbortSignal,
): Promise<Response> {
  const limit = deps.maxStreamsPerCaller;
  const release = deps.streams.take(`${caller.kind}:${caller.id}`, limit);
  if (!release) {
    const sentence = `at most ${limit} live event streams at once per user or token; close another page first`;
    throw tooMany("too_many_streams", sentence, { limit, retryAfterSeconds: 5 });
  }
  let initial: RestoreView;
  try {
    initial = await getRestore(deps.db, id); // 404 before any stream starts
  } catch (error) {
    release();
    throw error;
  }
  const encoder = new TextEncoder();
  let end = release;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let ended = false;
      let timer: NodeJS.Timeout | undefined;
      let reading = false;
      let again = false;
      const channel = deps.channel(id);
      const send = (event: string, data: unknown) => {
        if (ended) return;
        try {
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        } catch {
          end();
        }
      };
      const publish = (restore: RestoreView) => {
        send("restore", restore);
        if (isFinal(restore)) {
          send("end", { status: restore.status });
          end();
        }
      };
      const read = async () => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          publish(await getRestore(deps.db, id));
        } catch {
          end(); // gone, or the database is away: the client reconnects
        } finally {
          reading = false;
          if (again && !ended) {
            again = false;
            schedule();
          }
        }
      };
      const schedule = () => {
        timer ??= setTimeout(() => {
          timer = undefined;
          void read();
        }, THROTTLE_MS);
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
        clearTimeout(timer);
        deps.bus.off(channel, schedule);
        abort.removeEventListener("abort", end);
        release();
        try {
          controller.close();
        } catch {
          // Already cancelled by the client.
        }
      };
      deps.bus.on(channel, schedule);
      abort.addEventListener("abort", end);
      publish(initial);
      if (!ended) {
        if (abort.aborted) end();
        else schedule(); // anything that happened between the first read and subscribing
      }
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
