"use client";
// The dashboard's headline row: port-pool utilisation now, running exports, jobs today, bytes moved.
import { useDashboardStats } from "@/lib/queries/use-dashboard-stats";
import { useExports } from "@/lib/queries/use-exports";
import { usePorts } from "@/lib/queries/use-ports";
import { RUNNING_EXPORT_STATUSES } from "@/lib/queries/types";
import { percent } from "../format";
import { formatBytes } from "@/lib/format";
import { JobsIcon, PortIcon, ProcessIcon, DiskIcon } from "../icons";
import { MoreLink } from "../arrow-link";
import { ProgressBar } from "../progress-bar";
import { describeError } from "../query-error";
import { KpiCard } from "./kpi-card";

function Unavailable({ error }: { error: unknown }) {
  return <span className="text-rose-600 dark:text-rose-400">{describeError(error).title}</span>;
}

export function PoolKpis({ since }: { since: string }) {
  const ports = usePorts();
  const exports = useExports();
  const stats = useDashboardStats(since);
  const pool = ports.data;
  const used = pool ? percent(pool.allocated, pool.total) : 0;
  const running = exports.data?.processes.filter((p) => RUNNING_EXPORT_STATUSES.includes(p.status)) ?? [];
  const today = stats.data ? Object.values(stats.data.jobsByStatus).reduce((a, b) => a + b, 0) : undefined;
  const moved = stats.data?.bytesPerHour.reduce((a, h) => a + h.bytes, 0);

  return (
    <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-4">
      <KpiCard
        label="Port pool in use"
        testId="pool-utilisation"
        icon={<PortIcon />}
        value={
          pool ? (
            <span data-testid="pool-used">
              {pool.allocated} <span className="text-base font-normal text-slate-400">/ {pool.total}</span>
            </span>
          ) : ports.isError ? (
            "—"
          ) : (
            "…"
          )
        }
        caption={
          pool ? (
            <>
              {used}% used · ports {pool.range.min}–{pool.range.max} · {pool.available} free · node{" "}
              <span className="font-mono">{pool.node}</span>
            </>
          ) : ports.isError ? (
            <Unavailable error={ports.error} />
          ) : (
            "Loading the pool…"
          )
        }
        footer={
          <ProgressBar
            value={used}
            label="Port pool utilisation"
            tone={used >= 90 ? "danger" : used >= 70 ? "warning" : "info"}
          />
        }
      />
      <KpiCard
        label="Running exports"
        icon={<ProcessIcon />}
        testId="running-exports-count"
        value={exports.data ? running.length : exports.isError ? "—" : "…"}
        caption={exports.isError ? <Unavailable error={exports.error} /> : "qemu-nbd processes serving a target file"}
        footer={<MoreLink href="/exports">See exports</MoreLink>}
      />
      <KpiCard
        label="Jobs today"
        icon={<JobsIcon />}
        testId="jobs-today"
        value={today ?? (stats.isError ? "—" : "…")}
        caption={
          stats.data ? (
            <>
              <span className="text-emerald-600 dark:text-emerald-400">
                {stats.data.jobsByStatus.completed} completed
              </span>{" "}
              ·{" "}
              <span className={stats.data.jobsByStatus.failed ? "text-rose-600 dark:text-rose-400" : ""}>
                {stats.data.jobsByStatus.failed} failed
              </span>{" "}
              · {stats.data.activeJobs} active now
            </>
          ) : stats.isError ? (
            <Unavailable error={stats.error} />
          ) : (
            "Since midnight"
          )
        }
        footer={<MoreLink href="/jobs">Job history</MoreLink>}
      />
      <KpiCard
        label="Data moved, 24 h"
        icon={<DiskIcon />}
        testId="bytes-moved"
        value={moved !== undefined ? formatBytes(moved) : stats.isError ? "—" : "…"}
        caption={stats.isError ? <Unavailable error={stats.error} /> : "Written into exports by the data movers"}
      />
    </div>
  );
}
