// Waiting for a qemu-nbd to be ready. Ready means its pid file holds its pid: qemu-nbd writes
// the file after the export is added, whereas its socket listens before the image is open,
// so a successful connect() proves nothing. (No execa here: the benchmark imports this.)
import "server-only";
import { promises as fs, watch, type FSWatcher } from "node:fs";
import path from "node:path";
import { isProcessAlive } from "@/lib/proc/stat";

export type ProcessExit = { exitCode: number | null; signal: string | null };

export type ReadyOutcome = { kind: "ready" } | { kind: "exited"; result: ProcessExit } | { kind: "timeout" };

/** The first re-check, and the longest gap between two while the directory is watched. */
const RECHECK_FIRST_MS = 20;
const RECHECK_WATCHED_MAX_MS = 200;

/**
 * Wait until `pidFile` holds the process's pid and the process lives, or it exits, or the
 * deadline passes. The directory is watched (inotify) for low latency. A re-check is the
 * safety net for a missed event: every 20 ms when the directory could not be watched; while it
 * is, from 20 ms doubling to 200 ms (a hundred starts waiting at once each re-read their file
 * every 20 ms before, a tenth of the server's main thread in bench figure 3).
 */
export function waitForPidFile(
  proc: { pid: number; startTime: bigint | null; exited: Promise<ProcessExit> },
  pidFile: string,
  timeoutMs: number,
): Promise<ReadyOutcome> {
  return new Promise<ReadyOutcome>((resolve) => {
    let done = false;
    let watcher: FSWatcher | undefined;
    let watched = false;
    let recheck: NodeJS.Timeout | undefined;
    const finish = (outcome: ReadyOutcome) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearTimeout(recheck);
      clearTimeout(deadline);
      resolve(outcome);
    };
    const check = async () => {
      if (done) return;
      const text = await fs.readFile(pidFile, "utf8").catch(() => "");
      // qemu-nbd creates, truncates, then writes "PID\n": an empty or partial file is not ready.
      if (text.trim() === String(proc.pid) && (await isProcessAlive(proc.pid, proc.startTime)))
        finish({ kind: "ready" });
    };
    const deadline = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
    void proc.exited.then((result) => finish({ kind: "exited", result }));
    try {
      const name = path.basename(pidFile);
      watcher = watch(path.dirname(pidFile), (_event, file) => {
        if (file === null || file === name) void check();
      });
      watched = true;
      watcher.on("error", () => {
        watched = false; // back to the plain 20 ms re-check
      });
    } catch {
      /* the re-check below still finds it */
    }
    const schedule = (ms: number) => {
      recheck = setTimeout(() => {
        void check();
        if (!done) schedule(watched ? Math.min(ms * 2, RECHECK_WATCHED_MAX_MS) : RECHECK_FIRST_MS);
      }, ms);
    };
    schedule(RECHECK_FIRST_MS);
    void check();
  });
}
