// Does a copy still move? A reusable watch for anything that moves bytes through processes
// (a backup disk's mover today, a restore later): it takes a progress probe (bytes the copy
// reports) and the list of processes doing the work, and calls back when the copy stalls,
// moves again, or has not moved for the fail time. Progress counts as moving when the probe
// OR any process's own activity (lib/proc/activity.ts: file I/O counters and CPU time) changed:
// a slow mover that completes its requests in big chunks, or that reads a long run of zeroes,
// still receives and handles data; a stopped process (SIGSTOP), or one blocked on a hung peer or
// on storage, does nothing (docs/decisions/015-stalls-limits-retries.md).
import "server-only";
import { activityOf } from "@/lib/proc/activity";

export type StallWatchOptions = {
  /** Bytes the copy reports so far (transferred bytes); any change counts as progress. */
  progress: () => number;
  /** The processes doing the work now (e.g. nbdcopy and the helper it started). */
  processes: () => Promise<number[]>;
  stallSeconds: number;
  failSeconds: number;
  /** Stalled since `since` (when progress last moved), or moving again (null). */
  onStallChange: (since: Date | null) => void;
  /** No progress for `seconds`: the caller ends the copy. Called once. */
  onFail: (seconds: number) => void;
  /** How often to look (ms). */
  everyMs?: number;
  now?: () => number;
};

export type StallWatch = {
  stop(): void;
  readonly stalledSince: Date | null;
  /** One look now (tests drive the watch with it; the timer calls it every `everyMs`). */
  lookNow(): Promise<void>;
};

/**
 * A fingerprint of everything that moves: the probe, and each process's activity. null while one
 * of the processes is stopped: nothing it does elsewhere counts as progress then.
 */
async function fingerprint(options: StallWatchOptions): Promise<string | null> {
  const pids = await options.processes();
  const activity = await Promise.all(pids.map(activityOf));
  if (activity.includes("stopped")) return null;
  const counters = pids.map((pid, i) => `${pid}=${activity[i]}`);
  return [String(options.progress()), ...counters.sort()].join(" ");
}

export function watchStalls(options: StallWatchOptions): StallWatch {
  const now = options.now ?? Date.now;
  let lastMoved = now();
  let last: string | null = null;
  let stalledSince: Date | null = null;
  let failed = false;
  let busy = false;
  const look = async () => {
    if (busy || failed) return;
    busy = true;
    try {
      const current = await fingerprint(options);
      const at = now();
      if (current !== null && current !== last) {
        last = current;
        lastMoved = at;
        if (stalledSince) {
          stalledSince = null;
          options.onStallChange(null);
        }
        return;
      }
      const still = (at - lastMoved) / 1000;
      if (!stalledSince && still >= options.stallSeconds) {
        stalledSince = new Date(lastMoved);
        options.onStallChange(stalledSince);
      }
      if (still >= options.failSeconds) {
        failed = true;
        options.onFail(Math.round(still));
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void look().catch(() => undefined), options.everyMs ?? 1000);
  timer.unref();
  return {
    stop: () => {
      failed = true;
      clearInterval(timer);
    },
    get stalledSince() {
      return stalledSince;
    },
    lookNow: look,
  };
}
