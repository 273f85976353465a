"use client";
// One disk of a job: progress, rate, ETA, where it lives (port, export URI, pid, target) and,
// whether it is stalled (and since when), which attempt it is,
// once completed, what its verification proved (compared with the source, or only checked).
import Link from "next/link";
import type { BackupDisk } from "@/lib/queries/types";
import { CopyButton } from "../../components/copy-button";
import { percent } from "../../components/format";
import { jobHref } from "../../components/hrefs";
import { formatBytes } from "@/lib/format";
import { DiskIcon } from "../../components/icons";
import { StalledBadge } from "../../components/stalled-badge";
import { Term } from "../../components/term";
import { DiskStatusBadge } from "../../components/status-badge";
import { TransferProgress } from "../../components/transfer-progress";
import { useNow } from "../../components/use-now";

const ACTIVE = new Set(["exporting", "transferring", "verifying"]);

function Field({
  label,
  value,
  mono = false,
  copy,
}: {
  label: string;
  value: string | number | null | undefined;
  mono?: boolean;
  copy?: boolean;
}) {
  const shown = value === null || value === undefined || value === "" ? "—" : String(value);
  const font = mono ? "font-mono text-[0.8125rem]" : "";
  const look = `flex items-center gap-1 text-sm text-slate-800 dark:text-slate-200 ${font}`;
  return (
    <Term label={label} className="min-w-0" valueClassName={look}>
      <span className="truncate" title={shown}>
        {shown}
      </span>
      {copy && shown !== "—" ? <CopyButton value={shown} label={`Copy ${label.toLowerCase()}`} /> : null}
    </Term>
  );
}

const VERIFICATION_LINE = "mt-3 flex items-start gap-2 text-xs text-slate-600 dark:text-slate-300";

function Verification({ disk }: { disk: BackupDisk }) {
  if (disk.status !== "completed" || !disk.verification) return null;
  const tone = disk.verified
    ? "bg-emerald-100 text-emerald-800 dark:bg-emerald-950/60 dark:text-emerald-200"
    : "bg-amber-100 text-amber-900 dark:bg-amber-950/60 dark:text-amber-200";
  return (
    <p data-testid="disk-verification" className={VERIFICATION_LINE}>
      <span data-testid="disk-verified" className={`shrink-0 rounded-full px-2 py-0.5 font-medium ${tone}`}>
        {disk.verified ? "verified" : "not verified"}
      </span>
      <span>{disk.verification}</span>
    </p>
  );
}

const MODE_LABEL: Record<string, string> = {
  full: "full",
  "changed-blocks": "changed blocks",
  "content-diff": "content diff",
};
const MODE_BADGE =
  "mr-2 rounded-full bg-sky-100 px-2 py-0.5 font-medium text-sky-800 dark:bg-sky-950/60 dark:text-sky-200";
const JOB_LINK = "font-mono text-sky-700 underline dark:text-sky-300";

/** How the disk was copied: "moved 16 MiB of 512 MiB (changed blocks since job X)", and why. */
function CopyMode({ disk }: { disk: BackupDisk }) {
  if (!disk.copyMode) return null;
  const label = MODE_LABEL[disk.copyMode] ?? disk.copyMode;
  const done = disk.status === "completed";
  const of = formatBytes(disk.totalBytes || null);
  const moved = `${done ? "moved" : "moving"} ${formatBytes(disk.transferredBytes)} of ${of}`;
  return (
    <div data-testid="disk-copy-mode" className="mt-3 text-xs text-slate-600 dark:text-slate-300">
      <p>
        <span className={MODE_BADGE}>{label}</span>
        {disk.copyMode === "full" ? (
          <span>{moved}</span>
        ) : (
          <span data-testid="disk-moved">
            {moved} ({label} since{" "}
            {disk.backingJobId ? (
              <Link className={JOB_LINK} href={jobHref(disk.backingJobId)}>
                job {disk.backingJobId}
              </Link>
            ) : (
              "the last backup"
            )}
            )
          </span>
        )}
      </p>
      {disk.copyReason ? (
        <p className="mt-1 text-slate-500 dark:text-slate-400" data-testid="disk-copy-reason">
          {disk.copyReason}
        </p>
      ) : null}
    </div>
  );
}

export function DiskCard({ disk }: { disk: BackupDisk }) {
  const now = useNow();
  // An incremental's progress counts the bytes to move (or to examine), not the disk.
  const counted = disk.progressTotalBytes ? percent(disk.progressDoneBytes ?? 0, disk.progressTotalBytes) : null;
  return (
    <article
      data-testid="disk-card"
      data-disk-id={disk.diskId}
      className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900"
    >
      <header className="flex items-center gap-3">
        <span className="grid h-8 w-8 place-items-center rounded-lg bg-slate-100 text-slate-500 dark:bg-slate-800 dark:text-slate-400">
          <DiskIcon />
        </span>
        <div className="min-w-0">
          <h3 className="text-sm font-semibold">{disk.diskId}</h3>
          <p className="truncate text-xs text-slate-500 dark:text-slate-400" title={disk.source}>
            {disk.source}
            {disk.sourceFormat ? ` · ${disk.sourceFormat}` : ""}
          </p>
        </div>
        <div className="ml-auto flex items-center gap-2">
          {disk.attempt && disk.attempt > 1 ? (
            <span data-testid="disk-attempt" className="text-xs text-slate-500 dark:text-slate-400">
              attempt {disk.attempt}
            </span>
          ) : null}
          <StalledBadge since={disk.stalledSince ?? null} now={now} testId="disk-stalled" />
          <DiskStatusBadge status={disk.status} testId="disk-status" />
        </div>
      </header>
      <div className="mt-4">
        <TransferProgress
          status={disk.status}
          transferredBytes={disk.transferredBytes}
          totalBytes={disk.totalBytes || null}
          counted={counted}
          active={ACTIVE.has(disk.status)}
          bytesPerSecond={disk.bytesPerSecond}
          etaSeconds={disk.etaSeconds}
          label={`Disk ${disk.diskId} progress`}
          size="md"
          percentTestId="disk-percent"
          barTestId="disk-progress"
        />
      </div>
      <dl className="mt-4 grid grid-cols-2 gap-x-4 gap-y-3 border-t border-slate-100 pt-3 sm:grid-cols-3 dark:border-slate-800">
        <Field label="Port" value={disk.port} mono />
        <Field label="PID" value={disk.pid} mono />
        <Field label="Export name" value={disk.exportName} mono />
        <div className="col-span-2 sm:col-span-3">
          <Field label="Export URI" value={disk.nbdUri} mono copy />
        </div>
        <div className="col-span-2 sm:col-span-3">
          <Field label="Target path" value={disk.targetPath} mono copy />
        </div>
      </dl>
      <CopyMode disk={disk} />
      <Verification disk={disk} />
      {disk.error ? (
        <p
          role="alert"
          className="mt-3 rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-800 dark:bg-rose-950/40 dark:text-rose-200"
        >
          {disk.error}
        </p>
      ) : null}
    </article>
  );
}
