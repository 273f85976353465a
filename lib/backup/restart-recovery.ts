// What a previous run of the server left behind, settled at start before the runner takes jobs
// (the runtime's reconcile step, after the exports): movers still writing, jobs that were
// running or whose ending was claimed, and targets that could not be removed.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import type { FinishDeps, Outcome } from "./finish";
import { finishJob } from "./finish";
import { removeLeftoverTargets } from "./leftovers";
import { killOrphanMovers } from "./orphan-movers";
import { sweepBitmaps } from "./source-bitmaps";

/**
 * Which exports of a previous run to keep. Those of a backup job (a row exists, whatever its
 * status) are stopped: a running job is ended next, and an ended job's export is a leftover.
 * An export whose job id names no backup job (allocated through the port API) is adopted.
 */
export async function decideExport(db: Db, jobId: string): Promise<"adopt" | "stop"> {
  const job = await db.backupJob.findUnique({ where: { id: jobId }, select: { status: true } });
  return job ? "stop" : "adopt";
}

/**
 * After a restart: orphan movers are killed, jobs that were running end as failed (or as
 * claimed: a cancel cut off by the restart ends cancelled), and leftover targets are removed.
 * Answers the targets that could not be removed yet, to be tried again.
 */
export async function recoverJobs(deps: FinishDeps): Promise<string[]> {
  const { db, config, log } = deps;
  await killOrphanMovers(config.runDir, log);
  // This node's running jobs, and its queued jobs whose ending was claimed before the server went
  // down. Another node's jobs are left alone: their exports and movers run there (decision 026).
  const interrupted = await db.backupJob.findMany({
    where: {
      node: config.nodeName,
      OR: [{ status: "running" }, { status: "queued", ending: { not: null } }],
    },
    select: { id: true, status: true, ending: true, cancelledBy: true },
  });
  for (const job of interrupted) {
    const reason = job.status === "running" ? "interrupted by restart" : "ended by a request cut off by a restart";
    const by = job.cancelledBy ?? "unknown";
    const outcome: Outcome = job.ending === "cancelling" ? { status: "cancelled", by } : { status: "failed", reason };
    log.info(`job was ${job.status} when the server stopped: ending it (${outcome.status})`, { job: job.id });
    // Forced: a clean-up problem here is recorded on the job; it must not stop the start.
    await finishJob(deps, job.id, outcome, { force: true });
  }
  // Dirty bitmaps a crash left on sources (a job's own, added before it could end).
  const removed = await sweepBitmaps(deps).catch((error: unknown) => {
    log.warn("could not sweep dirty bitmaps", { error: String(error) });
    return [];
  });
  for (const r of removed) log.info(`removed orphan dirty bitmap ${r.bitmap} from ${r.source}`);
  // Targets a previous run could not remove (it crashed, or the repository was read-only).
  return removeLeftoverTargets(db, config.nodeName, config.repositoryDir, log).catch(() => [] as string[]);
}
