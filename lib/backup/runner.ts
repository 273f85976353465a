// The backup runner: takes jobs, queues them in order of arrival until enough ports are free,
// runs their disks (up to NBDHUB_MAX_PARALLEL_DISKS at once), and ends every job through
// finish.ts. Postgres holds the truth; `active` is this process's cache of what it runs.
import "server-only";
import { ApiError, notFound } from "@/lib/api/errors";
import type { StartBackupRequest } from "@/lib/api/schemas/backups";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import type { ExportExit, ExportManagerApi, PortPoolApi } from "@/lib/nbd/types";
import { insertJob, newJobId, planDisks } from "./create";
import { Aborted, finishDisk, prepareDisk, runDisk, type RunningDisk } from "./disk-task";
import { JobEvents } from "./events";
import { killOrphanMovers } from "./orphan-movers";
import { CleanupIncomplete, finishJob, type Outcome } from "./finish";
import { removeLeftoverTargets } from "./leftovers";
import { jobView, type BackupJobView } from "./serialize";

type Active = {
  id: string;
  external: boolean;
  abort: AbortController;
  /** Why the job must end early (cancel, a failed disk, stale, shutdown); first one wins. */
  outcome?: Outcome;
  disks: Map<string, RunningDisk>;
  /** Settles when the job has ended (finishJob done). */
  done: Promise<void>;
  /** External jobs: settles when the exports are ready, or once the job has ended when they never were. */
  prepared?: Promise<void>;
  /** The job's one ending, shared by whoever asks for it (cancel, shutdown, a failure). */
  ending?: Promise<void>;
};

export type RunnerDeps = { db: Db; config: Config; log: Logger; ports: PortPoolApi; exports: ExportManagerApi };

/** How long a job's ending is retried while Postgres is away before its status is forced. */
const FINISH_RETRY_MS = 120_000;
/** …and while the server shuts down (the next start fails the job anyway). */
const FINISH_RETRY_STOPPING_MS = 10_000;

export class BackupRunner {
  readonly events: JobEvents;
  private readonly active = new Map<string, Active>();
  private queue: string[] = [];
  private pumping = false;
  private pumpAgain = false;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  /** Targets of ended jobs that could not be removed yet (a read-only repository). */
  private readonly leftovers = new Set<string>();
  private readonly onExportExit = (exit: ExportExit) => this.exportExited(exit);

  constructor(private readonly deps: RunnerDeps) {
    this.events = new JobEvents(deps.db, deps.log.child("backup"));
  }

  private get finishDeps() {
    return { ...this.deps, events: this.events, onLeftover: (file: string) => this.leftovers.add(file) };
  }

  /**
   * finishJob until it succeeds: it is idempotent, and while Postgres restarts it throws (the
   * job would otherwise stay "running" with nobody left to end it, holding its ports). After
   * FINISH_RETRY_MS of clean-up failures the status is written anyway, with the problem.
   */
  private async finish(jobId: string, outcome: Outcome): Promise<void> {
    const began = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      const limit = this.stopping ? FINISH_RETRY_STOPPING_MS : FINISH_RETRY_MS;
      const force = Date.now() - began > limit;
      try {
        await finishJob(this.finishDeps, jobId, outcome, { force });
        return;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (force || (this.stopping && Date.now() - began > limit)) {
          this.deps.log.error("could not end the job; the next start ends it", { job: jobId, error: message });
          throw error;
        }
        if (attempt === 0 || attempt % 10 === 0) {
          this.deps.log.warn(`could not end the job yet (${error instanceof CleanupIncomplete ? "clean-up" : "database"}); retrying`, { job: jobId, attempt, error: message.split("\n").filter(Boolean).slice(-1)[0] });
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  private async retryLeftovers(): Promise<void> {
    if (this.leftovers.size === 0) return;
    try {
      const left = new Set(await removeLeftoverTargets(this.deps.db, this.deps.config.repositoryDir, this.deps.log, [...this.leftovers]));
      for (const file of [...this.leftovers]) if (!left.has(file)) this.leftovers.delete(file);
    } catch (error) {
      this.deps.log.warn("could not retry removing leftover targets", { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** After a restart: jobs that were running end as failed; queued ones queue again. */
  async start(): Promise<void> {
    const { db, log } = this.deps;
    await killOrphanMovers(this.deps.config.runDir, log);
    const interrupted = await db.backupJob.findMany({ where: { status: "running" }, select: { id: true } });
    for (const { id } of interrupted) {
      log.info("job was running when the server stopped: failing it", { job: id });
      // Forced: a clean-up problem here is recorded on the job; it must not stop the start.
      await finishJob(this.finishDeps, id, { status: "failed", reason: "interrupted by restart" }, { force: true });
    }
    // Targets a previous run could not remove (it crashed, or the repository was read-only).
    for (const file of await removeLeftoverTargets(db, this.deps.config.repositoryDir, log).catch(() => [] as string[])) this.leftovers.add(file);
    const queued = await db.backupJob.findMany({ where: { status: "queued" }, orderBy: { createdAt: "asc" }, select: { id: true } });
    this.queue = queued.map((j) => j.id);
    this.deps.exports.on("exit", this.onExportExit);
    // Ports can be freed by anyone (an API release, another server): look again regularly.
    this.timers.push(setInterval(() => void this.pump(), 1000));
    this.timers.push(setInterval(() => void this.checkStale(), Math.min(5000, this.deps.config.staleAfterSeconds * 500)));
    this.timers.push(setInterval(() => void this.retryLeftovers(), 5000));
    for (const t of this.timers) t.unref();
    void this.pump();
  }

  /** Which exports of a previous run to keep: those of jobs that are over or not ours. */
  static async decideExport(db: Db, jobId: string): Promise<"adopt" | "stop"> {
    const job = await db.backupJob.findUnique({ where: { id: jobId }, select: { status: true } });
    return job ? "stop" : "adopt";
  }

  async view(id: string): Promise<BackupJobView> {
    const job = await this.deps.db.backupJob.findUnique({ where: { id }, include: { disks: true } });
    if (!job) throw notFound(`backup job ${id}`);
    return jobView(job);
  }

  async create(request: StartBackupRequest, requestedBy: string): Promise<BackupJobView> {
    if (this.stopping) throw new ApiError("not_ready", 503, "nbdhub is shutting down");
    const { db, config } = this.deps;
    const jobId = newJobId();
    const disks = await planDisks(db, config, jobId, request);
    await insertJob(db, jobId, request, disks, requestedBy);
    await this.events.record(jobId, "job.created", `${request.type} backup of ${request.vmName} requested by ${requestedBy}: ${disks.length} disk(s), ${request.mover} mover`);
    this.queue.push(jobId);
    await this.pump();
    const active = this.active.get(jobId);
    if (active?.prepared) await active.prepared;
    else if (!active) await this.events.record(jobId, "job.queued", "waiting for free ports");
    return this.view(jobId);
  }

  /** Start queued jobs in order of arrival while enough ports are free; the head never starves. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (this.queue.length > 0 && !this.stopping) {
          const id = this.queue[0];
          const job = await this.deps.db.backupJob.findUnique({ where: { id }, include: { disks: true } });
          // The queue may change while we wait on the database (a queued job cancelled): the
          // head we looked at must still be the head we take, or another job would be lost.
          if (this.queue[0] !== id) continue;
          if (!job || job.status !== "queued") {
            this.queue.shift();
            continue;
          }
          const counts = await this.deps.ports.counts();
          if (this.queue[0] !== id) continue;
          const parallel = job.mover === "external" ? job.disks.length : Math.min(job.disks.length, this.deps.config.maxParallelDisks);
          const need = Math.min(parallel, counts.total);
          if (counts.available < need) break;
          this.queue.shift();
          this.launch(job.id, job.mover === "external");
        }
      } while (this.pumpAgain);
    } catch (error) {
      this.deps.log.warn("queue check failed", { error: error instanceof Error ? error.message : String(error) });
    } finally {
      this.pumping = false;
    }
  }

  private launch(jobId: string, external: boolean): void {
    const active: Active = { id: jobId, external, abort: new AbortController(), disks: new Map(), done: Promise.resolve() };
    this.active.set(jobId, active);
    let preparedResolve: () => void = () => undefined;
    if (external) active.prepared = new Promise((resolve) => (preparedResolve = resolve));
    active.done = (async () => {
      let outcome: Outcome | undefined | null;
      try {
        outcome = external ? await this.prepareExternal(active) : await this.runBuiltin(active);
      } catch (error) {
        outcome = { status: "failed", reason: error instanceof Error ? error.message : String(error) };
      }
      if (outcome === null) {
        // It was no longer queued (cancelled while it waited): someone else ended it.
        this.active.delete(active.id);
        return;
      }
      // External jobs stay active (waiting for the client) unless preparation failed. An
      // ending that finally gave up was logged; the next start ends the job.
      if (outcome) await this.end(active, outcome).catch(() => undefined);
    })().finally(() => preparedResolve());
  }

  /** Queued → running, only if still queued (it may have been cancelled meanwhile); null if not. */
  private async markRunning(jobId: string) {
    const { db } = this.deps;
    const { count } = await db.backupJob.updateMany({ where: { id: jobId, status: "queued" }, data: { status: "running", startedAt: new Date(), lastActivityAt: new Date() } });
    if (count === 0) return null;
    await this.events.record(jobId, "job.started", "job started");
    return db.backupJob.findUniqueOrThrow({ where: { id: jobId }, include: { disks: { orderBy: { position: "asc" } } } });
  }

  /** The outcome an active job should end with, once its disk tasks have settled. */
  private settle(active: Active, errors: string[]): Outcome {
    if (active.outcome) return active.outcome;
    if (errors.length > 0) return { status: "failed", reason: errors[0] };
    return { status: "completed" };
  }

  private fail(active: Active, reason: string): void {
    active.outcome ??= { status: "failed", reason };
    active.abort.abort();
  }

  private async runBuiltin(active: Active): Promise<Outcome | null> {
    const job = await this.markRunning(active.id);
    if (!job) return null;
    const deps = { ...this.deps, events: this.events };
    const errors: string[] = [];
    const pending = [...job.disks];
    const worker = async () => {
      for (let disk = pending.shift(); disk; disk = pending.shift()) {
        if (active.abort.signal.aborted) return;
        const state: RunningDisk = {};
        active.disks.set(disk.diskId, state);
        try {
          await runDisk(deps, job, disk, active.abort.signal, state);
        } catch (error) {
          // Ended from outside (cancel, shutdown, another disk's failure): the finishing step
          // marks this disk with the job's reason. A crash of its own export stays its own.
          if (active.abort.signal.aborted && active.outcome && !state.failure) return;
          const reason = `disk ${disk.diskId}: ${error instanceof Error ? error.message : String(error)}`;
          errors.push(reason);
          await this.deps.db.backupDisk
            .update({ where: { jobId_diskId: { jobId: job.id, diskId: disk.diskId } }, data: { status: "failed", error: reason, finishedAt: new Date() } })
            .catch(() => undefined);
          await this.events.record(job.id, "disk.failed", reason, { diskId: disk.diskId, level: "error" });
          // One disk failing fails the job: stop the others now rather than copy in vain.
          this.fail(active, reason);
          return;
        }
      }
    };
    const workers = Math.max(1, Math.min(this.deps.config.maxParallelDisks, job.disks.length));
    await Promise.all(Array.from({ length: workers }, worker));
    return this.settle(active, errors);
  }

  private async prepareExternal(active: Active): Promise<Outcome | undefined | null> {
    const job = await this.markRunning(active.id);
    if (!job) return null;
    const deps = { ...this.deps, events: this.events };
    try {
      for (const disk of job.disks) {
        const state: RunningDisk = {};
        active.disks.set(disk.diskId, state);
        const { port } = await prepareDisk(deps, job, disk, active.abort.signal);
        state.port = port;
        await this.deps.db.backupDisk.update({ where: { jobId_diskId: { jobId: job.id, diskId: disk.diskId } }, data: { status: "transferring" } });
      }
      await this.events.record(job.id, "job.ready", "exports ready: waiting for the backup client to write and report");
      this.events.changed(job.id);
      return undefined;
    } catch (error) {
      if (error instanceof Aborted && active.outcome) return active.outcome;
      return { status: "failed", reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** End the job once; every later caller waits for that same ending. */
  private end(active: Active, outcome: Outcome): Promise<void> {
    active.ending ??= (async () => {
      try {
        await this.finish(active.id, outcome);
      } finally {
        this.active.delete(active.id);
        void this.pump();
      }
    })();
    return active.ending;
  }

  /** A qemu-nbd that died under a running job fails the disk it served. */
  private exportExited(exit: ExportExit): void {
    if (exit.expected) return;
    const active = this.active.get(exit.export.jobId);
    if (!active) return;
    const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`;
    const reason = `disk ${exit.export.diskId}: the export's qemu-nbd on port ${exit.export.port} crashed (${how})${exit.stderrTail ? `: ${exit.stderrTail.split("\n").slice(-1)[0]}` : ""}`;
    const state = active.disks.get(exit.export.diskId);
    if (state) state.failure = reason;
    void this.events.record(active.id, "export.crashed", reason, { diskId: exit.export.diskId, level: "error" });
    if (active.external) void this.end(active, { status: "failed", reason }).catch(() => undefined);
    else this.fail(active, reason);
  }

  async cancel(id: string, by: string): Promise<BackupJobView> {
    const job = await this.deps.db.backupJob.findUnique({ where: { id }, select: { status: true } });
    if (!job) throw notFound(`backup job ${id}`);
    if (!["queued", "running"].includes(job.status)) throw new ApiError("job_finished", 409, `job ${id} already ended (${job.status})`);
    await this.events.record(id, "job.cancel_requested", `cancel requested by ${by}`);
    const active = this.active.get(id);
    if (!active) {
      this.queue = this.queue.filter((q) => q !== id);
      await this.finish(id, { status: "cancelled", by });
    } else if (active.external) {
      active.outcome ??= { status: "cancelled", by };
      active.abort.abort();
      await active.prepared;
      await this.end(active, active.outcome);
    } else {
      active.outcome ??= { status: "cancelled", by };
      active.abort.abort();
      for (const disk of active.disks.values()) disk.mover?.kill(2000);
      await active.done;
    }
    return this.view(id);
  }

  private async externalJob(id: string) {
    const job = await this.deps.db.backupJob.findUnique({ where: { id }, include: { disks: true } });
    if (!job) throw notFound(`backup job ${id}`);
    if (job.mover !== "external") throw new ApiError("not_external", 409, `job ${id} uses the built-in mover; only external jobs take reports`);
    if (job.status !== "running" && job.status !== "queued") throw new ApiError("job_finished", 409, `job ${id} already ended (${job.status})`);
    return job;
  }

  async progress(id: string, diskId: string, body: { transferredBytes: number; totalBytes?: number }) {
    const job = await this.externalJob(id);
    const disk = job.disks.find((d) => d.diskId === diskId);
    if (!disk) throw notFound(`disk ${diskId} of job ${id}`);
    const total = body.totalBytes ?? Number(disk.totalBytes);
    if (body.transferredBytes > total) {
      throw new ApiError("validation_failed", 422, "transferredBytes is larger than the disk", { transferredBytes: `at most ${total}` });
    }
    const now = new Date();
    const seconds = disk.startedAt ? (now.getTime() - disk.startedAt.getTime()) / 1000 : 0;
    const rate = seconds > 0 ? body.transferredBytes / seconds : 0;
    const updated = await this.deps.db.backupDisk.update({
      where: { jobId_diskId: { jobId: id, diskId } },
      data: { transferredBytes: BigInt(body.transferredBytes), totalBytes: BigInt(total), bytesPerSecond: rate, etaSeconds: rate > 0 ? Math.round((total - body.transferredBytes) / rate) : null },
    });
    const sums = await this.deps.db.backupDisk.aggregate({ where: { jobId: id }, _sum: { transferredBytes: true, totalBytes: true } });
    await this.deps.db.backupJob.update({
      where: { id },
      data: { lastActivityAt: now, transferredBytes: sums._sum.transferredBytes ?? BigInt(0), totalBytes: sums._sum.totalBytes ?? BigInt(0) },
    });
    this.events.changed(id);
    return updated;
  }

  async complete(id: string, body: { disks: { diskId: string; changeId?: string }[] }): Promise<BackupJobView> {
    const job = await this.externalJob(id);
    const active = this.active.get(id);
    if (!active || job.status !== "running") throw new ApiError("job_not_ready", 409, `job ${id} has no exports ready yet (${job.status})`);
    const named = new Set(body.disks.map((d) => d.diskId));
    const missing = job.disks.filter((d) => !named.has(d.diskId)).map((d) => d.diskId);
    const unknown = [...named].filter((n) => !job.disks.some((d) => d.diskId === n));
    if (missing.length || unknown.length) {
      throw new ApiError("validation_failed", 422, "complete must name every disk of the job, and only those", {
        disks: [missing.length ? `missing: ${missing.join(", ")}` : "", unknown.length ? `unknown: ${unknown.join(", ")}` : ""].filter(Boolean).join("; "),
      });
    }
    const deps = { ...this.deps, events: this.events };
    try {
      for (const disk of job.disks) {
        const changeId = body.disks.find((d) => d.diskId === disk.diskId)?.changeId;
        if (changeId) await this.deps.db.backupDisk.update({ where: { jobId_diskId: { jobId: id, diskId: disk.diskId } }, data: { changeId } });
        const port = active.disks.get(disk.diskId)?.port ?? disk.port;
        if (port === null || port === undefined) throw new Error(`disk ${disk.diskId} has no export`);
        await finishDisk(deps, job, disk, port, null);
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      await this.end(active, { status: "failed", reason });
      return this.view(id);
    }
    await this.end(active, { status: "completed" });
    return this.view(id);
  }

  async failExternal(id: string, message: string): Promise<BackupJobView> {
    await this.externalJob(id);
    const reason = `the backup client reported a failure: ${message}`;
    const active = this.active.get(id);
    if (active) {
      active.outcome ??= { status: "failed", reason };
      active.abort.abort();
      await active.prepared;
      await this.end(active, active.outcome);
    } else {
      this.queue = this.queue.filter((q) => q !== id);
      await this.finish(id, { status: "failed", reason });
    }
    return this.view(id);
  }

  /** External jobs silent for NBDHUB_STALE_AFTER_SECONDS fail as stale. */
  private async checkStale(): Promise<void> {
    const limit = this.deps.config.staleAfterSeconds;
    const before = new Date(Date.now() - limit * 1000);
    try {
      const stale = await this.deps.db.backupJob.findMany({ where: { mover: "external", status: "running", lastActivityAt: { lt: before } }, select: { id: true } });
      for (const { id } of stale) {
        const active = this.active.get(id);
        if (!active) continue;
        const reason = `stale: the backup client reported nothing for ${limit} s`;
        active.outcome ??= { status: "failed", reason };
        await this.end(active, active.outcome);
      }
    } catch (error) {
      this.deps.log.warn("stale check failed", { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Server shutdown: running jobs end as failed through the same path, and are waited for. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.deps.exports.off("exit", this.onExportExit);
    const ending = [...this.active.values()].map(async (active) => {
      active.outcome ??= { status: "failed", reason: "interrupted by server shutdown" };
      active.abort.abort();
      for (const disk of active.disks.values()) disk.mover?.kill(2000);
      // An external job may still be preparing: its exports must not start after this returns.
      if (active.external) await active.prepared;
      if (active.external || active.ending) await this.end(active, active.outcome);
      await active.done;
    });
    await Promise.allSettled(ending);
  }
}
