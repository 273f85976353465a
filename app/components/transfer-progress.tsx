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

export function TransferProgress(props: TransferProgressProps) {
  const { status, transferredBytes, totalBytes, counted, active, bytesPerSecond, etaSeconds } = props;
  const value = status === "completed" ? 100 : (counted ?? percent(transferredBytes, totalBytes ?? 0));
  const eta = active && etaSeconds != null ? `ETA ${formatDuration(etaSeconds)}` : "";
  const bar = (
    <ProgressBar
      value={value}
      label={props.label}
      tone={progressTone(status)}
      size={props.size}
      testId={props.barTestId}
    />
  );
  if (props.size === "lg") {
    return (
      <div>
        <div className="mb-2 flex flex-wrap items-baseline justify-between gap-2">
          <span className="text-3xl font-semibold tracking-tight tabular-nums" data-testid={props.percentTestId}>
            {Math.floor(value)} %
          </span>
          <span className="text-sm text-slate-500 tabular-nums dark:text-slate-400">
            {formatBytes(transferredBytes)} of {formatBytes(totalBytes)}
            {active ? ` · ${formatRate(bytesPerSecond)}${eta ? ` · ${eta}` : ""}` : ""}
          </span>
        </div>
        {bar}
      </div>
    );
  }
  return (
    <div>
      <div className="mb-1.5 flex items-baseline justify-between gap-3 text-sm">
        <span className="font-semibold tabular-nums" data-testid={props.percentTestId}>
          {Math.floor(value)} %
        </span>
        <span className="text-xs text-slate-500 tabular-nums dark:text-slate-400">
          {formatBytes(transferredBytes)} / {formatBytes(totalBytes)}
        </span>
      </div>
      {bar}
      <div className="mt-1.5 flex justify-between text-xs text-slate-500 tabular-nums dark:text-slate-400">
        <span>{active ? formatRate(bytesPerSecond) : status === "completed" ? "done" : ""}</span>
        <span>{eta}</span>
      </div>
    </div>
  );
}
