"use client";
// One row per job: VM, type, status, node, disks, size, duration, average rate, who started it.
import Link from "next/link";
import { isActiveJob, type BackupJob } from "@/lib/queries/types";
import {
  formatDateTime,
  formatDuration,
  formatRelative,
  jobAverageRate,
  jobDurationSeconds,
  percent,
} from "../components/format";
import { formatBytes, formatRate } from "@/lib/format";
import { listLink, listTd as td, type Column, figures } from "../components/data-table";
import { jobHref } from "../components/hrefs";
import { NodeName } from "../components/node-select";
import { ProgressBar } from "../components/progress-bar";
import { StalledBadge, stalledSinceOf } from "../components/stalled-badge";
import { JobStatusBadge } from "../components/status-badge";

/** The jobs list's columns (app/components/list-view.tsx draws the table). */
export const JOB_COLUMNS: Column[] = [
  "VM",
  "Type",
  "Status",
  "Node",
  figures("Disks"),
  figures("Size"),
  figures("Duration"),
  figures("Avg rate"),
  "Started by",
  "Created",
];

/** One job; a click anywhere on the row opens it. `now` ticks the running durations. */
export function JobRow({ job, now, onOpen }: { job: BackupJob; now: number; onOpen: (href: string) => void }) {
  const active = isActiveJob(job.status);
  const duration = active ? jobDurationSeconds(job, now) : (job.durationSeconds ?? jobDurationSeconds(job, now));
  const rate = active ? jobAverageRate(job, now) : (job.bytesPerSecond ?? jobAverageRate(job, now));
  const href = jobHref(job.id);
  return (
    <tr
      data-testid="job-row"
      data-job-id={job.id}
      onClick={() => onOpen(href)}
      className="cursor-pointer hover:bg-slate-50 dark:hover:bg-slate-800/40"
    >
      <td className={td}>
        <Link
          href={href}
          onClick={(e) => e.stopPropagation()}
          className={`${listLink} text-slate-900 dark:text-slate-100`}
        >
          {job.vmName}
        </Link>
        <div className="max-w-[14rem] truncate font-mono text-xs text-slate-400" title={job.id}>
          {job.id}
        </div>
      </td>
      <td className={`${td} capitalize text-slate-600 dark:text-slate-300`}>{job.type}</td>
      <td className={td}>
        <span className="flex flex-wrap items-center gap-1.5">
          <JobStatusBadge status={job.status} testId="job-row-status" />
          <StalledBadge since={active ? stalledSinceOf(job.disks) : null} now={now} testId="job-row-stalled" />
        </span>
      </td>
      <td className={td} data-testid="job-row-node">
        <NodeName node={job.node} />
      </td>
      <td className={`${td} text-right tabular-nums`}>{job.disks.length}</td>
      <td className={`${td} text-right tabular-nums`} data-testid="job-row-size">
        {active && job.totalBytes > 0 ? (
          <div className="ml-auto w-28">
            <div className="text-xs text-slate-500 dark:text-slate-400">
              {Math.floor(percent(job.transferredBytes, job.totalBytes))} % of {formatBytes(job.totalBytes)}
            </div>
            <ProgressBar
              value={percent(job.transferredBytes, job.totalBytes)}
              label={`Progress of ${job.vmName}`}
              size="sm"
            />
          </div>
        ) : (
          formatBytes(job.totalBytes || null)
        )}
      </td>
      <td className={`${td} text-right tabular-nums`} data-testid="job-row-duration">
        {formatDuration(duration)}
      </td>
      <td className={`${td} text-right tabular-nums text-slate-600 dark:text-slate-300`}>{formatRate(rate)}</td>
      <td className={`${td} text-slate-600 dark:text-slate-300`}>{job.requestedBy ?? "—"}</td>
      <td
        className={`${td} whitespace-nowrap text-slate-600 dark:text-slate-300`}
        title={formatDateTime(job.createdAt)}
      >
        {formatDateTime(job.createdAt)}
        <div className="text-xs text-slate-400">{formatRelative(job.createdAt, now)}</div>
      </td>
    </tr>
  );
}

export function JobsTableSkeleton() {
  return (
    <div className="divide-y divide-slate-100 dark:divide-slate-800" aria-busy="true" aria-label="Loading jobs">
      {Array.from({ length: 6 }, (_, i) => (
        <div key={i} className="flex items-center gap-6 px-4 py-4">
          <div className="h-3 w-32 animate-pulse rounded bg-slate-200 dark:bg-slate-800" />
          <div className="h-3 w-16 animate-pulse rounded bg-slate-200 dark:bg-slate-800" />
          <div className="h-5 w-20 animate-pulse rounded-full bg-slate-200 dark:bg-slate-800" />
          <div className="ml-auto h-3 w-24 animate-pulse rounded bg-slate-200 dark:bg-slate-800" />
        </div>
      ))}
    </div>
  );
}
