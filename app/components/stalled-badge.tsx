"use client";
// "stalled for N s": a copy whose progress has not moved for NBDHUB_STALL_SECONDS (the disk's
// stalledSince, docs/api.md). Shown on the disk card, the jobs list, the dashboard and a copy restore.
import type { BackupDisk } from "@/lib/queries/types";
import { formatDuration } from "./format";

/** The earliest stalledSince of a job's disks, or null when none is stalled. */
export function stalledSinceOf(disks: Pick<BackupDisk, "stalledSince">[]): string | null {
  const times = disks.map((d) => d.stalledSince).filter((t): t is string => Boolean(t));
  return times.length ? times.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b)) : null;
}

export function StalledBadge({
  since,
  now,
  testId = "stalled-badge",
}: {
  since: string | null;
  now: number;
  testId?: string;
}) {
  if (!since) return null;
  const seconds = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  return (
    <span
      data-testid={testId}
      title={`No progress since ${new Date(since).toLocaleString()}`}
      className="inline-flex items-center rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium whitespace-nowrap text-amber-900 dark:bg-amber-950/60 dark:text-amber-200"
    >
      stalled for {formatDuration(seconds)}
    </span>
  );
}
