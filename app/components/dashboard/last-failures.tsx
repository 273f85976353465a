"use client";
// The last failed backups and why, each a link to its job.
import type { DashboardStats } from "@/lib/queries/types";
import { formatRelative } from "../format";
import { CheckIcon } from "../icons";
import { JobLink } from "./job-link";
import { MoreLink } from "../arrow-link";
import { Panel } from "../panel";
import { QueryBody, Skeleton } from "../query-body";
import { useNow } from "../use-now";

const okBadge =
  "grid h-8 w-8 place-items-center rounded-full bg-emerald-50 text-emerald-600 " +
  "dark:bg-emerald-400/10 dark:text-emerald-400";

type LastFailuresProps = { stats?: DashboardStats; error: unknown; onRetry: () => void };

export function LastFailures({ stats, error, onRetry }: LastFailuresProps) {
  const now = useNow(30_000);
  const failures = stats?.lastFailures ?? [];
  return (
    <Panel
      id="last-failures"
      testId="last-failures"
      title="Last failures"
      description="The most recent failed backups and their reasons"
      bodyClassName=""
      className="h-full"
      actions={<MoreLink href="/jobs?status=failed">All failures</MoreLink>}
    >
      <QueryBody
        query={{ data: stats, error, isError: Boolean(error), isFetching: false, refetch: onRetry }}
        what="the last failures"
        compact
        loading={<Skeleton className="h-24" />}
        isEmpty={() => failures.length === 0}
        empty={
          <div className="flex items-center gap-3 p-4 text-sm text-slate-500 dark:text-slate-400">
            <span className={okBadge}>
              <CheckIcon />
            </span>
            No failed backups. When one fails, its reason shows here.
          </div>
        }
      >
        {() => (
          <ul className="divide-y divide-slate-100 dark:divide-slate-800">
            {failures.map((f) => (
              <li key={f.id}>
                <JobLink jobId={f.id}>
                  <div className="flex items-baseline justify-between gap-3">
                    <span className="truncate text-sm font-medium">{f.vmName}</span>
                    <span className="shrink-0 text-xs text-slate-500 dark:text-slate-400">
                      {formatRelative(f.finishedAt ?? f.createdAt, now)}
                    </span>
                  </div>
                  <p className="mt-0.5 line-clamp-2 text-sm text-rose-700 dark:text-rose-300">
                    {f.error ?? "Failed without a reason recorded."}
                  </p>
                </JobLink>
              </li>
            ))}
          </ul>
        )}
      </QueryBody>
    </Panel>
  );
}
