// Metrics of one runtime: prom-client with its own Registry (tests run several runtimes in
// one process, and the global registry would mix them), served as Prometheus text and JSON.
// Gauges are read from Postgres at scrape time, the truth, not from counters that could
// drift. Other parts (the backup runner) add theirs through `registry` and `addJsonSection`.
import "server-only";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Db } from "@/lib/db/prisma";
import type { ExportMetricsSink } from "@/lib/nbd/export-manager";
import type { PoolCounts, PortPoolApi } from "@/lib/nbd/types";

const EXPORT_STATUSES = ["starting", "ready", "stopping", "stopped", "crashed", "lost"] as const;
type ExportStatusCounts = Record<(typeof EXPORT_STATUSES)[number], number>;

export type MetricsJson = {
  ports: PoolCounts;
  exports: {
    active: number;
    byStatus: ExportStatusCounts;
    crashesTotal: number;
    startFailuresTotal: number;
    startLatency: { count: number; averageSeconds: number | null };
  };
  [section: string]: unknown;
};

export type Metrics = {
  registry: Registry;
  exportsSink: ExportMetricsSink;
  /** Add a top-level section to the JSON answer, computed at each request (e.g. "jobs"). */
  addJsonSection(name: string, read: () => Promise<unknown>): void;
  json(): Promise<MetricsJson>;
  prometheus(): Promise<{ contentType: string; body: string }>;
};

/** This node's export records by status (its pool's gauges are its own too). */
async function exportsByStatus(db: Db, node: string): Promise<ExportStatusCounts> {
  const counts = Object.fromEntries(EXPORT_STATUSES.map((s) => [s, 0])) as ExportStatusCounts;
  const groups = await db.nbdExport.groupBy({ by: ["status"], where: { node }, _count: { _all: true } });
  for (const g of groups) if (g.status in counts) counts[g.status as keyof ExportStatusCounts] = g._count._all;
  return counts;
}

export function createMetrics(deps: { db: Db; ports: PortPoolApi }): Metrics {
  const { db, ports } = deps;
  const registry = new Registry();
  const sections = new Map<string, () => Promise<unknown>>();

  new Gauge({
    name: "nbdhub_port_pool_size",
    help: "Ports in the configured NBD port range",
    registers: [registry],
    async collect() {
      this.set((await ports.counts()).total);
    },
  });
  new Gauge({
    name: "nbdhub_port_pool_allocated",
    help: "Ports of the range held by an allocation",
    registers: [registry],
    async collect() {
      this.set((await ports.counts()).allocated);
    },
  });
  new Gauge({
    name: "nbdhub_exports",
    help: "qemu-nbd export records by status (starting, ready and stopping are running processes)",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const counts = await exportsByStatus(db, ports.node);
      for (const status of EXPORT_STATUSES) this.set({ status }, counts[status]);
    },
  });
  const crashes = new Counter({
    name: "nbdhub_export_crashes_total",
    help: "qemu-nbd processes that exited on their own",
    registers: [registry],
  });
  const startFailures = new Counter({
    name: "nbdhub_export_start_failures_total",
    help: "Export starts that did not become ready, by error code",
    labelNames: ["code"],
    registers: [registry],
  });
  const startLatency = new Histogram({
    name: "nbdhub_export_start_seconds",
    help: "From a start request to the export being ready (pid file written)",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const exportsSink: ExportMetricsSink = {
    startLatency: (seconds) => startLatency.observe(seconds),
    startFailed: (code) => startFailures.inc({ code }),
    crashed: () => crashes.inc(),
  };

  const valueOf = async (metric: Counter | Histogram, name?: string) => {
    const values = (await metric.get()).values as { value: number; metricName?: string }[];
    return values.filter((v) => !name || v.metricName === name).reduce((sum, v) => sum + v.value, 0);
  };

  return {
    registry,
    exportsSink,
    addJsonSection(name, read) {
      sections.set(name, read);
    },
    async json() {
      const [pool, byStatus, crashesTotal, startFailuresTotal, latencyCount, latencySum] = await Promise.all([
        ports.counts(),
        exportsByStatus(db, ports.node),
        valueOf(crashes),
        valueOf(startFailures),
        valueOf(startLatency, "nbdhub_export_start_seconds_count"),
        valueOf(startLatency, "nbdhub_export_start_seconds_sum"),
      ]);
      const extra = await Promise.all([...sections].map(async ([name, read]) => [name, await read()] as const));
      return {
        ports: pool,
        exports: {
          active: byStatus.starting + byStatus.ready + byStatus.stopping,
          byStatus,
          crashesTotal,
          startFailuresTotal,
          startLatency: {
            count: latencyCount,
            averageSeconds: latencyCount ? Math.round((latencySum / latencyCount) * 1e4) / 1e4 : null,
          },
        },
        ...Object.fromEntries(extra),
      };
    },
    async prometheus() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
