// How far a copy is: the percentage, the bytes moved of the total, the rate and ETA while it
// runs, and a bar coloured by how it ended. One block for a backup job, each of its disks, and a
// restore's copy: "lg" is a page's headline (job, restore), "md" a disk card's.
import { formatBytes, formatRate } from "@/lib/format";
import { formatDuration, percent } from "./format";
import { ProgressBar } from "./progress-bar";

type Tone = "info" | "success" | "danger" | "warning";

/** The bar's colour for a job's, disk's or restore's status. */
export function progressTone(status: string): Tone {
  if (status === "failed") return "danger";
  if (status === "cancelled") return "warning";
  if (status === "completed") return "success";
  return "info";
}

type TransferProgressProps = {
  status: string;
  transferredBytes: number;
  /** The total as shown (null: "—", e.g. a size not known yet). */
  totalBytes: number | null;
  /** The percentage when it counts something else than the bytes moved (an incremental's). */
  counted?: number | null;
  /** Rate and ETA are shown only while the copy runs. */
  active: boolean;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
  /** The bar's accessible name. */
  label: string;
  size: "md" | "lg";
  percentTestId: string;
  barTestId: string;
};

/** The figures' line above the bar, by size. */
const LOOKS = {
  lg: {
    line: "mb-2 flex flex-wrap items-baseline justify-between gap-2",
    percent: "text-3xl font-semibold tracking-tight tabular-nums",
    bytes: "text-sm text-slate-500 tabular-nums dark:text-slate-400",
  },
  md: {
    line: "mb-1.5 flex items-baseline justify-between gap-3 text-sm",
    percent: "font-semibold tabular-nums",
    bytes: "text-xs text-slate-500 tabular-nums dark:text-slate-400",
  },
};

export function TransferProgress(props: TransferProgressProps) {
  const { status, transferredBytes, totalBytes, counted, active, bytesPerSecond, etaSeconds, size } = props;
  const value = status === "completed" ? 100 : (counted ?? percent(transferredBytes, totalBytes ?? 0));
  const eta = active && etaSeconds != null ? `ETA ${formatDuration(etaSeconds)}` : "";
  const rate = active ? formatRate(bytesPerSecond) : status === "completed" ? "done" : "";
  const look = LOOKS[size];
  // A headline says it all on one line; a disk card puts the rate and ETA under its bar.
  const bytes =
    size === "lg"
      ? `${formatBytes(transferredBytes)} of ${formatBytes(totalBytes)}${active ? ` · ${rate}${eta ? ` · ${eta}` : ""}` : ""}`
      : `${formatBytes(transferredBytes)} / ${formatBytes(totalBytes)}`;
  return (
    <div>
      <div className={look.line}>
        <span className={look.percent} data-testid={props.percentTestId}>
          {Math.floor(value)} %
        </span>
        <span className={look.bytes}>{bytes}</span>
      </div>
      <ProgressBar value={value} label={props.label} tone={progressTone(status)} size={size} testId={props.barTestId} />
      {size === "md" ? (
        <div className="mt-1.5 flex justify-between text-xs text-slate-500 tabular-nums dark:text-slate-400">
          <span>{rate}</span>
          <span>{eta}</span>
        </div>
      ) : null}
    </div>
  );
}
