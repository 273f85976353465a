"use client";
// Jobs by status since the start of the operator's day: one stacked bar and a legend with counts.
import Link from "next/link";
import type { DashboardStats, JobStatus } from "@/lib/queries/types";
import { Panel } from "../panel";
import { QueryError } from "../query-error";

const order: { status: JobStatus; label: string; color: string }[] = [
  { status: "completed", label: "Completed", color: "bg-emerald-500" },
  { status: "running", label: "Running", color: "bg-sky-500" },
  { status: "queued", label: "Queued", color: "bg-slate-400" },
  { status: "cancelled", label: "Cancelled", color: "bg-amber-500" },
  { status: "failed", label: "Failed", color: "bg-rose-500" },
];

export function JobsToday({ stats, error, onRetry }: { stats?: DashboardStats; error: unknown; onRetry: () => void }) {
  const total = stats ? Object.values(stats.jobsByStatus).reduce((a, b) => a + b, 0) : 0;
  return (
    <Panel
      id="jobs-today"
      testId="jobs-by-status"
      title="Jobs by status today"
      description="Backups started since midnight, local time"
      className="h-full"
    >
      {error ? (
        <QueryError error={error} what="today's jobs" onRetry={onRetry} compact />
      ) : !stats ? (
        <div className="h-24 animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800/60" />
      ) : (
        <>
          <div className="flex h-3 w-full overflow-hidden rounded-full bg-slate-100 dark:bg-slate-800" aria-hidden>
            {total > 0
              ? order.map((o) =>
                  stats.jobsByStatus[o.status] ? (
                    <div
                      key={o.status}
                      className={o.color}
                      style={{ width: `${(stats.jobsByStatus[o.status] / total) * 100}%` }}
                    />
                  ) : null,
                )
              : null}
          </div>
          <dl className="mt-4 grid grid-cols-2 gap-x-4 gap-y-2 text-sm sm:grid-cols-3 lg:grid-cols-2 2xl:grid-cols-3">
            {order.map((o) => (
              <div key={o.status} className="flex items-center gap-2">
                <span aria-hidden className={`h-2.5 w-2.5 rounded-sm ${o.color}`} />
                <dt className="text-slate-600 dark:text-slate-300">
                  <Link
                    href={`/jobs?status=${o.status}&range=24h`}
                    className="hover:underline focus-visible:outline-2 focus-visible:outline-sky-600"
                  >
                    {o.label}
                  </Link>
                </dt>
                <dd className="ml-auto font-semibold tabular-nums" data-testid={`jobs-today-${o.status}`}>
                  {stats.jobsByStatus[o.status]}
                </dd>
              </div>
            ))}
          </dl>
          {total === 0 ? (
            <p className="mt-4 text-sm text-slate-500 dark:text-slate-400">
              No backups yet today. Start one with “New backup”.
            </p>
          ) : null}
        </>
      )}
    </Panel>
  );
}
