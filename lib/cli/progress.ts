// Progress as a person reads it: a bar redrawn in place on a terminal, one plain line a second
// otherwise (a log file, a pipe). The formatting is pure, for the unit tests.
import { formatBytes, formatRate } from "@/lib/format";

export type ProgressState = {
  label: string;
  done: number;
  total: number;
  /** Bytes per second; 0 or less when not known yet. */
  rate: number;
};

/** "1h02m", "3m05s", "42s"; "—" when unknown. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** Whole percent, never 100 before the end (a 99.7 % copy is not done). */
export function percentOf(done: number, total: number): number {
  if (total <= 0) return 100;
  if (done >= total) return 100;
  return Math.min(99, Math.floor((done / total) * 100));
}

function etaOf(p: ProgressState): number | null {
  return p.rate > 0 ? (p.total - p.done) / p.rate : null;
}

/** The line for logs: "disk0: 45% 28.8 MiB of 64.0 MiB, 10.0 MiB/s, eta 3s". */
export function progressLine(p: ProgressState): string {
  const pct = percentOf(p.done, p.total);
  const tail = p.done >= p.total ? "" : `, ${formatRate(p.rate)}, eta ${formatEta(etaOf(p))}`;
  return `${p.label}: ${pct}% ${formatBytes(p.done)} of ${formatBytes(p.total)}${tail}`;
}

/** The terminal's bar, fitted to `columns`: "disk0 [#######.......]  45% 28.8 MiB/64.0 MiB 10.0 MiB/s 3s". */
export function progressBar(p: ProgressState, columns: number): string {
  const pct = percentOf(p.done, p.total);
  const facts = ` ${String(pct).padStart(3)}% ${formatBytes(p.done)}/${formatBytes(p.total)} ${formatRate(p.rate)} ${formatEta(etaOf(p))}`;
  const room = columns - 1 - p.label.length - facts.length - 3;
  if (room < 10) return `${p.label}${facts}`.slice(0, Math.max(0, columns - 1));
  const width = Math.min(room, 50);
  const filled = Math.round((pct / 100) * width);
  return `${p.label} [${"#".repeat(filled)}${".".repeat(width - filled)}]${facts}`;
}

type Out = { isTTY?: boolean; columns?: number; write(text: string): unknown };

/** Shows one copy's progress: `update` as often as wanted, drawn at most once a second off a terminal. */
export class ProgressView {
  private last = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(
    private readonly out: Out,
    private readonly label: string,
    private readonly total: number,
  ) {}

  private state(done: number): ProgressState {
    const seconds = (Date.now() - this.started) / 1000;
    return { label: this.label, done, total: this.total, rate: seconds > 0 ? done / seconds : 0 };
  }

  update(done: number): void {
    const now = Date.now();
    const every = this.out.isTTY ? 200 : 1000;
    if (now - this.last < every) return;
    this.last = now;
    this.draw(done);
  }

  private draw(done: number): void {
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[K${progressBar(this.state(done), this.out.columns ?? 80)}`);
      this.drawn = true;
    } else {
      this.out.write(`${progressLine(this.state(done))}\n`);
    }
  }

  /** The last state, on its own line. */
  end(done: number): void {
    this.draw(done);
    if (this.drawn) this.out.write("\n");
    this.drawn = false;
  }
}
