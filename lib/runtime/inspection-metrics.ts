// The source inspections' numbers in GET /metrics ("inspections") and the Prometheus text:
// the limit, how many run and wait now, the most that ever ran at once, runs and refusals.
import "server-only";
import { Counter, Gauge } from "prom-client";
import type { Metrics } from "./metrics";
import { inspectionStats } from "@/lib/backup/inspections";

export function registerInspectionMetrics(metrics: Metrics): void {
  const registers = [metrics.registry];
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  const stats = inspectionStats;
  gauge("nbdhub_inspections_limit", "Source inspections (qemu-img, nbdinfo) allowed at once", () => stats().limit);
  gauge("nbdhub_inspections_running", "Source inspections running now", () => inspectionStats().running);
  gauge("nbdhub_inspections_waiting", "Source inspections waiting for a slot", () => inspectionStats().queued);
  gauge("nbdhub_inspections_peak", "Most source inspections that ran at once", () => inspectionStats().peak);
  // Counters read from the limiter at scrape time: reset() then inc() keeps the type right.
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  counter("nbdhub_inspections_total", "Source inspections started", () => inspectionStats().runs);
  counter("nbdhub_inspections_rejected_total", "Source inspections refused (503 busy)", () => stats().rejected);
  metrics.addJsonSection("inspections", async () => inspectionStats());
}
