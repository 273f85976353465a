"use client";
// One backup job, live: the summary, each disk, the event log; Cancel while it runs.
import { ApiClientError } from "@/lib/queries/api-fetch";
import { isActiveJob, type BackupJob } from "@/lib/queries/types";
import { useBackupEvents } from "@/lib/queries/use-backup-events";
import { useBackupJob } from "@/lib/queries/use-backup-job";
import { BackLink } from "../../components/arrow-link";
import { ButtonLink } from "../../components/button";
import { EmptyState } from "../../components/empty-state";
import { formatDateTime, formatDuration, jobAverageRate, jobDurationSeconds } from "../../components/format";
import { formatBytes, formatRate } from "@/lib/format";
import { AlertIcon } from "../../components/icons";
import { LiveIndicator } from "../../components/live-indicator";
import { Panel } from "../../components/panel";
import { QueryFailure } from "../../components/query-body";
import { TransferProgress } from "../../components/transfer-progress";
import { JobStatusBadge } from "../../components/status-badge";
import { Term } from "../../components/term";
import { useNow } from "../../components/use-now";
import { RestoreLink } from "../../restores/restore-link";
import { CancelJobButton } from "./cancel-job-button";
import { DiskCard } from "./disk-card";
import { EventTimeline } from "./event-timeline";

const FACT = "mt-0.5 text-sm font-medium text-slate-900 tabular-nums dark:text-slate-100";

function Fact(props: { label: string; children: React.ReactNode; testId?: string }) {
  return <Term {...props} valueClassName={FACT} />;
}

function Summary({ job, now }: { job: BackupJob; now: number }) {
  const active = isActiveJob(job.status);
  const rate = active
    ? job.disks.reduce((a, d) => a + (d.bytesPerSecond || 0), 0)
    : (job.bytesPerSecond ?? jobAverageRate(job, now));
  const eta = active ? Math.max(-1, ...job.disks.map((d) => d.etaSeconds ?? -1)) : -1;
  const duration = active ? jobDurationSeconds(job, now) : (job.durationSeconds ?? jobDurationSeconds(job, now));
  return (
    <Panel id="summary" title="Progress" bodyClassName="p-4 space-y-5">
      <TransferProgress
        status={job.status}
        transferredBytes={job.transferredBytes}
        totalBytes={job.totalBytes || null}
        active={active}
        bytesPerSecond={rate}
        etaSeconds={eta >= 0 ? eta : null}
        label="Job progress"
        size="lg"
        percentTestId="job-percent"
        barTestId="job-progress"
      />
      <dl className="grid grid-cols-2 gap-x-6 gap-y-4 sm:grid-cols-4">
        <Fact label="Type">
          <span className="capitalize">{job.type}</span>
          {job.mover === "external" ? " · external mover" : ""}
        </Fact>
        <Fact label="Started by">{job.requestedBy ?? "—"}</Fact>
        <Fact label="Duration" testId="job-duration">
          {formatDuration(duration)}
        </Fact>
        <Fact label={active ? "Rate now" : "Average rate"}>{formatRate(rate)}</Fact>
        <Fact label="Created">{formatDateTime(job.createdAt)}</Fact>
        <Fact label="Started">{formatDateTime(job.startedAt)}</Fact>
        <Fact label="Finished">{formatDateTime(job.finishedAt)}</Fact>
        <Fact label="Size" testId="job-size">
          {formatBytes(job.totalBytes || null)}
        </Fact>
      </dl>
    </Panel>
  );
}

function Outcome({ job }: { job: BackupJob }) {
  if (job.status === "failed") {
    const diskErrors = job.disks.filter((d) => d.error && d.error !== job.error);
    return (
      <div
        role="alert"
        data-testid="job-error"
        className="flex gap-3 rounded-xl border border-rose-200 bg-rose-50 p-4 dark:border-rose-900/60 dark:bg-rose-950/40"
      >
        <AlertIcon className="mt-0.5 h-5 w-5 shrink-0 text-rose-500" />
        <div className="min-w-0 text-sm">
          <p className="font-semibold text-rose-900 dark:text-rose-100">This backup failed</p>
          <p className="mt-1 break-words text-rose-800 dark:text-rose-200">
            {job.error ?? "The server recorded no reason; see the event log below."}
          </p>
          {diskErrors.length ? (
            <ul className="mt-2 list-disc space-y-0.5 pl-5 text-rose-800 dark:text-rose-200">
              {diskErrors.map((d) => (
                <li key={d.diskId}>
                  <span className="font-medium">{d.diskId}:</span> {d.error}
                </li>
              ))}
            </ul>
          ) : null}
          <p className="mt-2 text-rose-700/80 dark:text-rose-300/80">
            Its ports were released and its exports stopped. Fix the cause and start a new backup.
          </p>
        </div>
      </div>
    );
  }
  if (job.status === "cancelled")
    return (
      <div
        role="status"
        className="rounded-xl border border-amber-200 bg-amber-50 p-4 text-sm text-amber-900 dark:border-amber-900/60 dark:bg-amber-950/30 dark:text-amber-100"
      >
        Cancelled{job.cancelledBy ? ` by ${job.cancelledBy}` : ""}
        {job.finishedAt ? ` at ${formatDateTime(job.finishedAt)}` : ""}. Its ports were released and its exports
        stopped.
      </div>
    );
  return null;
}

export function JobView({ id }: { id: string }) {
  const probe = useBackupJob(id);
  const active = isActiveJob(probe.data?.status);
  const stream = useBackupEvents(id, { enabled: active });
  // While the stream is down, poll instead, so the page never goes stale.
  const job = useBackupJob(id, { poll: active && stream !== "live" });
  const now = useNow();

  if (job.isError && !job.data) {
    // Unknown id, or not even a possible one (422 on the id's pattern): either way, no such job.
    const missing =
      job.error instanceof ApiClientError &&
      (job.error.code === "validation_failed" ||
        (job.error.code === "not_found" && !/no API route/.test(job.error.message)));
    return (
      <div className="space-y-4">
        <BackLink href="/jobs">Jobs</BackLink>
        {missing ? (
          <div className="rounded-xl border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
            <EmptyState icon="jobs" title="No such job" action={<ButtonLink href="/jobs">Back to the jobs</ButtonLink>}>
              There is no backup job “{id}”. It may have been typed wrong; the Jobs page lists every job.
            </EmptyState>
          </div>
        ) : (
          <QueryFailure query={job} what="this job" />
        )}
      </div>
    );
  }

  if (!job.data) {
    return (
      <div className="space-y-4" aria-busy="true">
        <BackLink href="/jobs">Jobs</BackLink>
        <div className="h-8 w-64 animate-pulse rounded bg-slate-200 dark:bg-slate-800" />
        <div className="h-40 animate-pulse rounded-xl bg-slate-200/70 dark:bg-slate-800/60" />
      </div>
    );
  }

  const j = job.data;
  return (
    <div className="space-y-6">
      <div className="space-y-3">
        <BackLink href="/jobs">Jobs</BackLink>
        <div className="flex flex-wrap items-start justify-between gap-4">
          <div className="min-w-0">
            <div className="flex flex-wrap items-center gap-3">
              <h1 className="text-2xl font-semibold tracking-tight">{j.vmName}</h1>
              <JobStatusBadge status={j.status} size="md" testId="job-status" />
              <LiveIndicator state={stream} />
            </div>
            <p className="mt-1 font-mono text-xs text-slate-500 dark:text-slate-400">{j.id}</p>
          </div>
          {isActiveJob(j.status) ? (
            <CancelJobButton jobId={j.id} vmName={j.vmName} />
          ) : (
            <div className="flex gap-2">
              {j.status === "completed" ? <RestoreLink jobId={j.id} variant="primary" testId="restore-job" /> : null}
              <ButtonLink href="/jobs/new">New backup</ButtonLink>
            </div>
          )}
        </div>
      </div>
      <Outcome job={j} />
      <div className="grid gap-6 xl:grid-cols-3">
        <div className="space-y-6 xl:col-span-2">
          <Summary job={j} now={now} />
          <section aria-labelledby="disks-title" className="space-y-3">
            <h2 id="disks-title" className="text-sm font-semibold">
              Disks <span className="font-normal text-slate-500">({j.disks.length})</span>
            </h2>
            <div className={`grid gap-4 ${j.disks.length > 1 ? "lg:grid-cols-2" : ""}`}>
              {j.disks.map((d) => (
                <DiskCard key={d.diskId} disk={d} />
              ))}
            </div>
          </section>
        </div>
        <Panel
          id="events"
          title="Event log"
          description={`${j.events?.length ?? 0} events, oldest first`}
          bodyClassName=""
          className="self-start"
        >
          <EventTimeline events={j.events ?? []} />
        </Panel>
      </div>
    </div>
  );
}
