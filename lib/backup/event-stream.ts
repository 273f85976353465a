// Server-sent events for one job: `job` (the whole BackupJob, at most ~4 times a second),
// `log` (each new event-log entry) and `end` (then the stream closes). A comment line every
// 15 s keeps proxies from closing an idle stream. The stream closes once, whoever closes it
// first (the job's end, the client going away, the request aborted): nothing is written after.
import "server-only";
import type { Runtime } from "@/lib/runtime/runtime";
import type { JobSignal } from "./events";
import { jobWithEvents } from "./queries";
import { jobView } from "./serialize";

const FINAL = new Set(["completed", "failed", "cancelled"]);

export async function jobEventStream(runtime: Runtime, id: string, abort: AbortSignal): Promise<Response> {
  const initial = await jobWithEvents(runtime.db, id); // 404 before any stream starts
  const { events } = runtime.backups;
  const encoder = new TextEncoder();
  let cleanup = () => undefined as void;
  let closed = false;

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let timer: NodeJS.Timeout | undefined;
      const write = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          // The reader went away between our check and the write (a cancel racing a refresh).
          closed = true;
          cleanup();
        }
      };
      const send = (event: string, data: unknown) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const close = () => {
        if (closed) return;
        closed = true;
        cleanup();
        try {
          controller.close();
        } catch {
          /* already closed by the reader's cancel */
        }
      };
      const refresh = async () => {
        const job = await runtime.db.backupJob.findUnique({ where: { id }, include: { disks: true } });
        if (!job) return close();
        send("job", jobView(job));
        if (FINAL.has(job.status)) {
          send("end", { status: job.status });
          close();
        }
      };
      const schedule = () => {
        timer ??= setTimeout(() => {
          timer = undefined;
          void refresh().catch(() => close());
        }, 250);
      };
      const onSignal = (signal: JobSignal) => {
        if (signal.type === "log") send("log", signal.event);
        else if (signal.type === "end") void refresh().catch(() => close());
        else schedule();
      };
      const heartbeat = setInterval(() => write(": keep-alive\n\n"), 15_000);
      cleanup = () => {
        clearInterval(heartbeat);
        clearTimeout(timer);
        events.bus.off(events.channel(id), onSignal);
        abort.removeEventListener("abort", close);
      };
      events.bus.on(events.channel(id), onSignal);
      abort.addEventListener("abort", close);
      const { events: log, ...job } = initial;
      send("job", job);
      for (const entry of log) send("log", entry);
      // Re-read once: anything that happened between the first read and subscribing.
      void refresh().catch(() => close());
    },
    cancel() {
      closed = true;
      cleanup();
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" },
  });
}
