// A job whose disks nbdhub copies itself: up to NBDHUB_MAX_PARALLEL_DISKS workers, each on a
// port reserved at admission, take the disks in order. One disk failing fails the job at once
// (the others stop rather than copy in vain); an ending from outside (cancel, shutdown) stops
// them all, and the ending's claimer decides the outcome.
import "server-only";
import { markRunning, type JobWithDisks } from "./admission";
import { diskReason, prepareRetry } from "./disk-retry";
import { runDisk, type RunningDisk } from "./disk-task";
import type { Outcome } from "./finish";
import type { JobControl } from "./job-control";
import type { Active, RunnerState } from "./runner-state";
import { reasonOf } from "@/lib/db/unavailable";
import { messageOf } from "@/lib/messages";

/** The outcome of the copies, or null when the job was no longer queued when its turn came. */
export async function runBuiltinJob(state: RunnerState, control: JobControl, active: Active): Promise<Outcome | null> {
  const job = await markRunning(state, active.id);
  if (!job) return null;
  const { db, log, config } = state.deps;
  const deps = state.taskDeps;
  const { signal } = active.abort;
  const errors: string[] = [];
  const pending = [...job.disks];
  const worker = async (reservedPort: number | undefined) => {
    let port = reservedPort;
    for (let disk = pending.shift(); disk; disk = pending.shift()) {
      const failure = await copyWithRetries(disk, port, (used) => (port = used ?? port));
      if (failure === "stop") return;
      if (failure === null) continue;
      const reason = failure;
      errors.push(reason);
      const where = { jobId_diskId: { jobId: job.id, diskId: disk.diskId } };
      await db.backupDisk
        .update({ where, data: { status: "failed", error: reason, finishedAt: new Date() } })
        .catch((e: unknown) => {
          // The ending marks it failed with the job's reason once the database is back.
          const error = messageOf(e);
          log.warn(`could not record the failure of disk ${disk.diskId}`, { job: job.id, reason, error });
        });
      await state.events.record(job.id, "disk.failed", reason, { diskId: disk.diskId, level: "error" });
      // One disk failing fails the job: stop the others now rather than copy in vain.
      control.fail(active, reason);
      return;
    }
  };
  /**
   * One disk, tried up to 1 + retries times. null: completed; "stop": the job's ending came
   * from outside (its claimer marks the disk); else the last attempt's reason.
   */
  const copyWithRetries = async (
    disk: JobWithDisks["disks"][number],
    port: number | undefined,
    usedPort: (port: number | undefined) => void,
  ): Promise<string | null | "stop"> => {
    const attempts = 1 + job.retries;
    for (let attempt = disk.attempt; ; attempt += 1) {
      if (signal.aborted) return "stop";
      const running: RunningDisk = {};
      active.disks.set(disk.diskId, running);
      try {
        await runDisk(deps, job, disk, signal, running, port);
        // The export may have moved to another port (another program took the reserved one).
        usedPort(running.port);
        return null;
      } catch (error) {
        // Ended from outside (cancel, shutdown, another disk's failure, the time limit): the
        // finishing step marks this disk with the job's reason. A failure of its own stays its own.
        if (signal.aborted && state.endings.has(active.id) && !running.failure) return "stop";
        const reason = diskReason(disk.diskId, reasonOf(error));
        if (attempt >= attempts || signal.aborted) return reason;
        port = running.port ?? port;
        usedPort(port);
        try {
          const next = { attempt: attempt + 1, of: attempts, reason };
          if (!(await prepareRetry({ ...deps, config }, disk, port, next, signal))) return "stop";
        } catch (cleanup) {
          log.warn(`could not prepare disk ${disk.diskId} for another attempt`, {
            job: job.id,
            error: messageOf(cleanup),
          });
          return reason;
        }
      }
    }
  };
  const workers = Math.max(1, Math.min(config.maxParallelDisks, job.disks.length, active.ports.length || 1));
  await Promise.all(Array.from({ length: workers }, (_, i) => worker(active.ports[i])));
  return errors.length > 0 ? { status: "failed", reason: errors[0] } : { status: "completed" };
}
