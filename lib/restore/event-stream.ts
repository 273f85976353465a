// Server-sent events for one restore, as for a backup job: `restore` (the whole Restore, at
// most ~4 times a second, on every change the coordinator signals) and `end` (then the stream
// closes). A comment line every 15 s keeps proxies from closing an idle stream. Streams count
// against the same per-caller cap as the job streams (the slots are shared).
import "server-only";
import type { EventEmitter } from "node:events";
import { openEventStream, type StreamCaller } from "@/lib/backup/server-sent-events";
import type { StreamSlots } from "@/lib/backup/stream-slots";
import type { Db } from "@/lib/db/prisma";
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
  caller: StreamCaller,
  abort: AbortSignal,
): Promise<Response> {
  return openEventStream({
    streams: deps.streams,
    limit: deps.maxStreamsPerCaller,
    caller,
    abort,
    closeWhat: "another page",
    load: () => getRestore(deps.db, id),
    feed(initial, sink) {
      let timer: NodeJS.Timeout | undefined;
      let reading = false;
      let again = false;
      const channel = deps.channel(id);
      const publish = (restore: RestoreView) => {
        sink.send("restore", restore);
        if (isFinal(restore)) {
          sink.send("end", { status: restore.status });
          sink.end();
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
          sink.end(); // gone, or the database is away: the client reconnects
        } finally {
          reading = false;
          if (again && !sink.ended) {
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
      deps.bus.on(channel, schedule);
      publish(initial);
      if (!sink.ended) schedule(); // anything that happened between the first read and subscribing
      return () => {
        clearTimeout(timer);
        deps.bus.off(channel, schedule);
      };
    },
  });
}
