// Coloured status pills for jobs, disks, exports, ports and nodes; the same tone always means the same thing.
import type { DiskStatus, ExportStatus, JobStatus, NodeEntry } from "@/lib/queries/types";

export type Tone = "neutral" | "info" | "success" | "danger" | "warning" | "busy";

const tones: Record<Tone, { pill: string; dot: string }> = {
  neutral: {
    pill: "bg-slate-100 text-slate-700 ring-slate-500/20 dark:bg-slate-400/10 dark:text-slate-300 dark:ring-slate-400/20",
    dot: "bg-slate-400",
  },
  info: {
    pill: "bg-sky-50 text-sky-700 ring-sky-600/20 dark:bg-sky-400/10 dark:text-sky-300 dark:ring-sky-400/25",
    dot: "bg-sky-500",
  },
  busy: {
    pill: "bg-sky-50 text-sky-700 ring-sky-600/20 dark:bg-sky-400/10 dark:text-sky-300 dark:ring-sky-400/25",
    dot: "bg-sky-500 animate-pulse",
  },
  success: {
    pill: "bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-400/10 dark:text-emerald-300 dark:ring-emerald-400/25",
    dot: "bg-emerald-500",
  },
  danger: {
    pill: "bg-rose-50 text-rose-700 ring-rose-600/20 dark:bg-rose-400/10 dark:text-rose-300 dark:ring-rose-400/25",
    dot: "bg-rose-500",
  },
  warning: {
    pill: "bg-amber-50 text-amber-800 ring-amber-600/25 dark:bg-amber-400/10 dark:text-amber-300 dark:ring-amber-400/25",
    dot: "bg-amber-500",
  },
};

const JOB_TONE: Record<JobStatus, Tone> = {
  queued: "neutral",
  running: "busy",
  completed: "success",
  failed: "danger",
  cancelled: "warning",
};
const DISK_TONE: Record<DiskStatus, Tone> = {
  pending: "neutral",
  exporting: "busy",
  transferring: "busy",
  verifying: "busy",
  completed: "success",
  failed: "danger",
  cancelled: "warning",
};
const EXPORT_TONE: Record<ExportStatus, Tone> = {
  starting: "busy",
  ready: "success",
  stopping: "warning",
  stopped: "neutral",
  crashed: "danger",
  lost: "danger",
};

const NODE_TONE: Record<NodeEntry["status"], Tone> = { up: "success", lost: "danger" };

export function StatusBadge({
  status,
  tone,
  testId,
  size = "sm",
}: {
  status: string;
  tone: Tone;
  testId?: string;
  size?: "sm" | "md";
}) {
  const t = tones[tone] ?? tones.neutral;
  return (
    <span
      data-testid={testId}
      className={`inline-flex items-center gap-1.5 rounded-full font-medium ring-1 ring-inset ${t.pill} ${size === "md" ? "px-2.5 py-1 text-sm" : "px-2 py-0.5 text-xs"}`}
    >
      <span aria-hidden className={`h-1.5 w-1.5 rounded-full ${t.dot}`} />
      {status}
    </span>
  );
}

export const JobStatusBadge = ({
  status,
  testId,
  size,
}: {
  status: JobStatus;
  testId?: string;
  size?: "sm" | "md";
}) => <StatusBadge status={status} tone={JOB_TONE[status] ?? "neutral"} testId={testId} size={size} />;
export const DiskStatusBadge = ({ status, testId }: { status: DiskStatus; testId?: string }) => (
  <StatusBadge status={status} tone={DISK_TONE[status] ?? "neutral"} testId={testId} />
);
export const ExportStatusBadge = ({ status }: { status: ExportStatus }) => (
  <StatusBadge status={status} tone={EXPORT_TONE[status] ?? "neutral"} />
);
export const NodeStatusBadge = ({ status, testId }: { status: NodeEntry["status"]; testId?: string }) => (
  <StatusBadge status={status} tone={NODE_TONE[status] ?? "neutral"} testId={testId} />
);
