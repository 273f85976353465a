// The runtime's side of the recovery of lost nodes (docs/decisions/031-lost-nodes.md): every
// heartbeat interval this node looks for lost nodes that still hold work and recovers each one
// it can lock (lib/node/recovery.ts), then re-queues the jobs that allow it: a built-in job
// with retries left starts again as a new job (one retry fewer) through the runner's own
// create path, as POST /backups would; the failed job's events say which job took over.
import "server-only";
import type { BackupRunner } from "@/lib/backup/runner";
import type { StartBackupInput } from "@/lib/backup/types";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { firstLineOf } from "@/lib/messages";
import { repeatEvery } from "@/lib/repeat";
import { lostNodesWithWork, recoverNode, type LostJob, type Recovered } from "@/lib/node/recovery";

export type LostNodeWatch = { stop(): Promise<void> };

/** The request that starts a lost job again, or null when it does not allow it (no retries, external). */
export async function requeueRequest(db: Db, job: LostJob): Promise<StartBackupInput | null> {
  if (job.mover !== "builtin" || job.retries < 1) return null;
  const disks = await db.backupDisk.findMany({
    where: { jobId: job.id },
    orderBy: { position: "asc" },
    select: { diskId: true, source: true, sourceFormat: true },
  });
  return {
    vmName: job.vmName,
    // The chain of an incremental is in the lost node's repository: a full starts a new one.
    type: "full",
    mover: "builtin",
    retries: job.retries - 1,
    ...(job.maxRunSeconds ? { maxRunSeconds: job.maxRunSeconds } : {}),
    disks: disks.map((d) => ({
      diskId: d.diskId,
      source: d.source,
      ...(d.sourceFormat === "raw" || d.sourceFormat === "qcow2" ? { format: d.sourceFormat } : {}),
    })),
  } as StartBackupInput;
}

export function watchLostNodes(deps: { db: Db; config: Config; log: Logger; backups: BackupRunner }): LostNodeWatch {
  const { db, config, log, backups } = deps;

  async function requeue(node: string, job: LostJob): Promise<void> {
    const request = await requeueRequest(db, job);
    if (!request) return;
    try {
      const by = job.requestedBy ?? "recovery";
      const next = await backups.create(request, by, job.policyId ? { policyId: job.policyId } : {});
      await backups.events.record(job.id, "job.requeued", `re-queued as job ${next.id} on node ${next.node}`);
      await backups.events.record(next.id, "job.requeued", `retry of job ${job.id}, failed as node ${node} was lost`);
      log.info(`re-queued job ${job.id} of lost node ${node} as ${next.id}`, { job: job.id, next: next.id });
    } catch (error) {
      const message = `could not re-queue: ${firstLineOf(error)}`;
      await backups.events.record(job.id, "job.requeue_failed", message, { level: "warn" }).catch(() => undefined);
      log.warn(`could not re-queue job ${job.id} of lost node ${node}`, { error: firstLineOf(error) });
    }
  }

  async function pass(stopped: () => boolean): Promise<void> {
    for (const node of await lostNodesWithWork(db, config.nodeName, config.nodeLeaseSeconds)) {
      if (stopped()) return;
      const done: Recovered | null = await recoverNode(db, node, config.nodeLeaseSeconds);
      if (!done) continue;
      log.warn(`node ${node} is lost: its jobs failed, its exports marked lost, its ports released`, {
        node,
        jobs: done.jobs.map((j) => j.id),
        restores: done.restores,
        exports: done.exports,
        ports: done.ports,
      });
      for (const job of done.jobs) await requeue(node, job);
    }
  }

  return repeatEvery(config.nodeHeartbeatSeconds * 1000, (stopped) =>
    pass(stopped).catch((error: unknown) => log.warn("could not recover lost nodes", { error: firstLineOf(error) })),
  );
}
