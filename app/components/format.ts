// Numbers for people: durations, times in the browser's zone, percentages, a job's rate.
// Sizes and rates are in lib/format.ts (shared with the server's event messages).
import type { BackupJob } from "@/lib/queries/types";

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function formatDateTime(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : "—";
}

export function formatTime(iso: string | null | undefined): string {
  return iso ? time.format(new Date(iso)) : "—";
}

export function percent(part: number, whole: number): number {
  if (!whole || whole <= 0) return 0;
  return Math.max(0, Math.min(100, Math.round((part / whole) * 1000) / 10));
}

/** Seconds the job has run: until it finished, or until now while it runs. */
export function jobDurationSeconds(
  job: Pick<BackupJob, "startedAt" | "finishedAt" | "createdAt">,
  now = Date.now(),
): number | null {
  const start = job.startedAt ?? null;
  if (!start) return null;
  const end = job.finishedAt ? new Date(job.finishedAt).getTime() : now;
  return Math.max(0, (end - new Date(start).getTime()) / 1000);
}

export function jobAverageRate(job: BackupJob, now = Date.now()): number | null {
  const seconds = jobDurationSeconds(job, now);
  if (!seconds || seconds <= 0) return null;
  return job.transferredBytes / seconds;
}
