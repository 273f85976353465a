// The admission queue: jobs wait in order of arrival; the head is admitted only once the ports
// it needs are reserved for it, all at once (the port pool's reserve). While they are not free,
// nobody overtakes it (it cannot starve), and a job admitted has its ports (two jobs never count
// the same free ports). The queue is a cache of Postgres, compared with it every few seconds.
import "server-only";
import { hasCode } from "@/lib/errors";
import type { BackupDisk as DiskRow, BackupJob as JobRow } from "@/lib/generated/prisma/client";
import type { Outcome } from "./finish";
import type { JobControl } from "./job-control";
import { DISKS_IN_ORDER, type RunnerState } from "./runner-state";
import { messageOf } from "@/lib/messages";

export type JobWithDisks = JobRow & { disks: DiskRow[] };

/** Starts an admitted job on the ports reserved for it. */
export type Launch = (job: JobWithDisks, ports: number[]) => void;

/** Queued → running, only if still queued and nobody claimed its ending; null if not. */
export async function markRunning(state: RunnerState, jobId: string): Promise<JobWithDisks | null> {
  const { db } = state.deps;
  const now = new Date();
  const { count } = await db.backupJob.updateMany({
    where: { id: jobId, status: "queued", ending: null },
    data: { status: "running", startedAt: now, lastActivityAt: now },
  });
  if (count === 0) return null;
  await state.events.record(jobId, "job.started", "job started");
  return db.backupJob.findUniqueOrThrow({ where: { id: jobId }, include: DISKS_IN_ORDER });
}

export class Admission {
  private queue: string[] = [];
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;

  constructor(
    private readonly state: RunnerState,
    private readonly control: JobControl,
    private readonly launch: Launch,
  ) {}

  /** The queued jobs of Postgres, oldest first (at start). */
  async load(): Promise<void> {
    const { db } = this.state.deps;
    const queued = await db.backupJob.findMany({
      where: { node: this.state.deps.config.nodeName, status: "queued" },
      orderBy: { createdAt: "asc" },
      select: { id: true },
    });
    this.queue = queued.map((j) => j.id);
  }

  enqueue(jobId: string): void {
    if (!this.queue.includes(jobId)) this.queue.push(jobId);
  }

  remove(jobId: string): void {
    this.queue = this.queue.filter((q) => q !== jobId);
  }

  /** Settles once the pass under way (if any) is over: a pass reserving ports gives them back at shutdown. */
  async settled(): Promise<void> {
    await this.pumping;
  }

  /** One pass over the queue at a time; a call during a pass makes it look once more, and waits for it. */
  pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return this.pumping;
    }
    const pass = (async () => {
      try {
        do {
          this.pumpAgain = false;
          await this.admit();
        } while (this.pumpAgain && !this.state.stopping);
      } catch (error) {
        this.state.deps.log.warn("queue check failed", { error: messageOf(error) });
      } finally {
        this.pumping = null;
      }
    })();
    this.pumping = pass;
    return pass;
  }

  /**
   * Postgres is the truth, the queue a cache of it. A queued job this process does not know
   * joins the queue in order of arrival: its POST /backups failed after the row was committed
   * (the database went away between the commit and the answer), so nobody had queued it, and it
   * would have stayed queued for good (issue 11, item 18). A queued job whose ending was claimed
   * but never finished (the claim was committed, its answer lost) is ended as claimed.
   */
  async syncQueue(): Promise<void> {
    const { db, log, config } = this.state.deps;
    try {
      // This node's queue only: another node's queued jobs are its own to start.
      const rows = await db.backupJob.findMany({
        where: { node: config.nodeName, status: "queued" },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        select: { id: true, ending: true, cancelledBy: true },
      });
      const unknown = (id: string) => !this.state.active.has(id) && !this.state.endings.has(id);
      for (const row of rows.filter((r) => r.ending && unknown(r.id))) {
        const by = row.cancelledBy ?? "unknown";
        const reason = "ended by a request that was cut off";
        const cancelled = row.ending === "cancelling";
        const outcome: Outcome = cancelled ? { status: "cancelled", by } : { status: "failed", reason };
        log.warn("a queued job's ending was claimed but not finished: ending it", { job: row.id });
        this.control.endAsClaimed(row.id, outcome);
      }
      const missing = rows.filter((r) => !r.ending && unknown(r.id) && !this.queue.includes(r.id)).map((r) => r.id);
      if (missing.length === 0) return;
      log.warn(`queued job(s) the queue did not know: ${missing.join(", ")}; queued in order of arrival`);
      const order = new Map(rows.map((r, i) => [r.id, i]));
      // Stable: jobs read after the query (newer) keep their place at the end.
      const rank = (id: string) => order.get(id) ?? Number.MAX_SAFE_INTEGER;
      this.queue = [...this.queue, ...missing].sort((a, b) => rank(a) - rank(b));
    } catch (error) {
      log.warn("could not compare the queue with the database", { error: messageOf(error) });
    }
  }

  /** Start queued jobs in order of arrival, each once its ports are reserved. */
  private async admit(): Promise<void> {
    const { state } = this;
    const { db, ports, config, log } = state.deps;
    while (this.queue.length > 0 && !state.stopping) {
      const id = this.queue[0];
      // Being cancelled while queued: its ending takes it out of the queue and looks again.
      if (state.endings.has(id)) return;
      const job = await db.backupJob.findUnique({ where: { id }, include: DISKS_IN_ORDER });
      // The queue may change while we wait on the database (a queued job cancelled): the
      // head we looked at must still be the head we take, or another job would be lost.
      if (this.queue[0] !== id) continue;
      if (!job || job.status !== "queued" || job.ending || job.node !== config.nodeName) {
        this.queue.shift();
        continue;
      }
      const disks = job.disks.length;
      const parallel = job.mover === "external" ? disks : Math.min(disks, config.maxParallelDisks);
      const need = Math.min(parallel, state.poolSize);
      const exportNames = job.disks.slice(0, need).map((d) => d.exportName ?? `${job.vmName}-${d.diskId}`);
      let reserved: number[];
      try {
        reserved = (await ports.reserve(need, { jobId: id, vmName: job.vmName, exportNames })).map((a) => a.port);
      } catch (error) {
        if (hasCode(error, "port_pool_exhausted")) return;
        throw error;
      }
      if (this.queue[0] !== id || state.endings.has(id) || state.stopping) {
        // Cancelled (or the server began to stop) while its ports were being reserved.
        await ports.releaseJob(id).catch((error: unknown) => {
          log.warn("could not give back a reservation", { job: id, error: messageOf(error) });
        });
        continue;
      }
      this.queue.shift();
      this.launch(job, reserved);
    }
  }
}
