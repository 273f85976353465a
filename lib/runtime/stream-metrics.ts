// Event-stream figures in /metrics: open streams (a gauge) and, in the JSON answer, the jobs
// followed and the database reads made to follow them (one per change, shared by every stream).
import "server-only";
import { Gauge } from "prom-client";
import type { Metrics } from "./metrics";
import type { JobEvents } from "@/lib/backup/events";

export function addStreamMetrics(metrics: Metrics, events: JobEvents): void {
  new Gauge({
    name: "nbdhub_event_streams",
    help: "Open server-sent event streams of backup jobs",
    registers: [metrics.registry],
    collect() {
      this.set(events.streams.total());
    },
  });
  metrics.addJsonSection("eventStreams", async () => events.streamStats());
}
