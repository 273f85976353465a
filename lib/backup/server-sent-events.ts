// The plumbing every server-sent-event stream of the console shares (job and restore pages): a
// slot per caller, one read before the stream starts (so a 404 is an answer, not a stream), a
// comment line every 15 s that keeps proxies from closing an idle stream, and an end that
// happens exactly once, whichever comes first: the feed ends it, the client goes away
// (cancel / abort), or a write fails.
import "server-only";
import { tooMany } from "@/lib/errors";
import type { StreamSlots } from "./stream-slots";

/** Whose stream it is: streams are counted per user or token. */
export type StreamCaller = { kind: string; id: string };

/** What a feed writes to: named events, and the one end. */
export type EventSink = { send(event: string, data: unknown): void; end(): void; readonly ended: boolean };

export type EventStreamOptions<T> = {
  streams: StreamSlots;
  limit: number;
  caller: StreamCaller;
  abort: AbortSignal;
  /** What the page is told to close when the caller holds too many streams. */
  closeWhat: string;
  /** The first read; a throw (404) answers the request instead of a stream. */
  load(): Promise<T>;
  /** Subscribes, sends what `initial` holds (and may end); returns the unsubscribe. */
  feed(initial: T, sink: EventSink): () => void;
};

export async function openEventStream<T>(options: EventStreamOptions<T>): Promise<Response> {
  const { streams, limit, caller, abort } = options;
  const release = streams.take(`${caller.kind}:${caller.id}`, limit);
  if (!release) {
    const sentence = `at most ${limit} live event streams at once per user or token; close ${options.closeWhat} first`;
    throw tooMany("too_many_streams", sentence, { limit, retryAfterSeconds: 5 });
  }
  let initial: T;
  try {
    initial = await options.load(); // 404 before any stream starts
  } catch (error) {
    release();
    throw error;
  }
  const encoder = new TextEncoder();
  let end = release;

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let ended = false;
      let unsubscribe: (() => void) | undefined;
      const write = (text: string) => {
        if (ended) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          end(); // the client is gone
        }
      };
      const heartbeat = setInterval(() => write(": keep-alive\n\n"), 15_000);
      end = () => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        unsubscribe?.();
        abort.removeEventListener("abort", end);
        release();
        try {
          controller.close();
        } catch {
          // Already cancelled by the client: nothing left to close.
        }
      };
      const sink: EventSink = {
        send: (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
        end: () => end(),
        get ended() {
          return ended;
        },
      };
      abort.addEventListener("abort", end);
      if (abort.aborted) return end();
      const stop = options.feed(initial, sink);
      if (ended) stop();
      else unsubscribe = stop;
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
