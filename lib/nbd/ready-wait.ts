// Waiting for a qemu-nbd to be ready. Ready means its pid file holds its pid: qemu-nbd writes
// the file after the export is added, whereas its socket listens before the image is open,
// so a successful connect() proves nothing. (No execa here: the benchmark imports this.)
import "server-only";
import { promises as fs, watch, type FSWatcher } from "node:fs";
import path from "node:path";
import { isProcessAlive } from "./proc";

export type ProcessExit = { exitCode: number | null; signal: string | null };

export type ReadyOutcome = { kind: "ready" } | { kind: "exited"; result: ProcessExit } | { kind: "timeout" };

/**
 * Wait until `pidFile` holds the process's pid and the process lives, or it exits, or the
 * deadline passes. The directory is watched (inotify) for low latency, with a 20 ms re-check
 * as a safety net for missed events.
 */
export function waitForPidFile(
  proc: { pid: number; startTime: bigint | null; exited: Promise<ProcessExit> },
  pidFile: string,
  timeoutMs: number,
): Promise<ReadyOutcome> {
  return new Promise<ReadyOutcome>((resolve) => {
    let done = false;
    let watcher: FSWatcher | undefined;
    // Set once, below the handlers that clear it.
    // eslint-disable-next-line prefer-const
    let poll: NodeJS.Timeout | undefined;
    const finish = (outcome: ReadyOutcome) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(poll);
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
      watcher.on("error", () => undefined);
    } catch {
      /* the poll below still finds it */
    }
    poll = setInterval(() => void check(), 20);
    void check();
  });
}
