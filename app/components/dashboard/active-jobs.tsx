"use client";
// Backups queued or running now, with their progress.
import { useActiveBackups } from "@/lib/queries/use-active-backups";
import { percent } from "../format";
import { formatBytes, formatRate } from "@/lib/format";
import { ButtonLink } from "../button";
import { PlusIcon } from "../icons";
import { Panel } from "../panel";
import { JobLink } from "./job-link";
import { ProgressBar } from "../progress-bar";
import { QueryBody, Skeleton } from "../query-body";
import { StalledBadge, stalledSinceOf } from "../stalled-badge";
import { JobStatusBadge } from "../status-badge";
import { useNow } from "../use-now";

const emptyClass = "flex flex-wrap items-center justify-between gap-3 p-4 text-sm text-slate-500 dark:text-slate-400";

export function ActiveJobs() {
  const jobs = useActiveBackups();
  const now = useNow();
  return (
    <Panel
      id="active-jobs"
      testId="active-jobs"
      title="Running backups"
      description="Queued and running jobs, live"
      bodyClassName=""
      className="h-full"
    >
      <QueryBody
        query={jobs}
        what="running backups"
        compact
        loading={<Skeleton />}
        isEmpty={(data) => data.length === 0}
        empty={
          <div className={emptyClass}>
            <span>No backup is running. Start one to see its progress here.</span>
            <ButtonLink href="/jobs/new" size="sm" icon={<PlusIcon className="h-3.5 w-3.5" />}>
              New backup
            </ButtonLink>
          </div>
        }
      >
        {(data) => (
          <ul className="divide-y divide-slate-100 dark:divide-slate-800">
            {data.map((job) => {
              const rate = job.disks.reduce((a, d) => a + (d.bytesPerSecond || 0), 0);
              const value = percent(job.transferredBytes, job.totalBytes);
              return (
                <li key={job.id}>
                  <JobLink jobId={job.id}>
                    <div className="flex items-center gap-3">
                      <span className="min-w-0 truncate text-sm font-medium">{job.vmName}</span>
                      <JobStatusBadge status={job.status} />
                      <StalledBadge since={stalledSinceOf(job.disks)} now={now} testId="active-job-stalled" />
                      <span className="ml-auto text-xs text-slate-500 tabular-nums dark:text-slate-400">
                        {formatBytes(job.transferredBytes)} / {formatBytes(job.totalBytes)} · {formatRate(rate)}
                      </span>
                    </div>
                    <div className="mt-2 flex items-center gap-3">
                      <ProgressBar value={value} label={`Progress of ${job.vmName}`} size="sm" />
                      <span className="w-12 text-right text-xs font-medium tabular-nums">{Math.floor(value)} %</span>
                    </div>
                  </JobLink>
                </li>
              );
            })}
          </ul>
        )}
      </QueryBody>
    </Panel>
  );
}
