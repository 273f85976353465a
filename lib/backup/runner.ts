// The backup runner: takes jobs, queues them in order of arrival, admits the head once the
// ports it needs are reserved for it (all or none), runs its disks (up to
// NBDHUB_MAX_PARALLEL_DISKS at once) and ends every job through one claimed ending (claim.ts)
// and finish.ts. Postgres holds the truth; `active` and `endings` are this process's cache.
import "server-only";
import { ApiError, isApiError, notFound } from "@/lib/api/errors";
import type { StartBackupRequest } from "@/lib/api/schemas/backups";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { BackupDisk as DiskRow, BackupJob as JobRow } from "@/lib/generated/prisma/client";
import type { Logger } from "@/lib/log";
import type { ExportExit, ExportManagerApi, PortPoolApi } from "@/lib/nbd/types";
import { claimEnding, endingConflict, kindOf, type EndingKind } from "./claim";
import { incompleteTransfer, uncovered } from "./coverage";
import { insertJob, newJobId, planDisks } from "./create";
import { Aborted, finishDisk, prepareDisk, runDisk, type RunningDisk } from "./disk-task";
import { JobEvents } from "./events";
import { CleanupIncomplete, finishJob, type Outcome } from "./finish";
import { removeLeftoverTargets } from "./leftovers";
import { killOrphanMovers } from "./orphan-movers";
import { jobView, type BackupJobView } from "./serialize";

type JobWithDisks = JobRow & { disks: DiskRow[] };

type Active = {
  id: string;
  external: boolean;
  /** Aborted once the job's ending is claimed: its disk tasks stop. */
  abort: AbortController;
  /** Ports reserved for the job at admission: one per disk worker (external: one per disk). */
  ports: number[];
  disks: Map<string, RunningDisk>;
  /** Settles once the disk tasks (built-in) or the preparation of the exports (external) settled. */
  tasks: Promise<void>;
  /** External jobs: every export is ready for the backup client. */
  ready: boolean;
  /** Settles when this process is done with the job (it ended, or another claimer ends it). */
  done: Promise<void>;
  settleDone: () => void;
};

/** "withdrawn": the claim could not be written (the database is away); nothing was done. */
type EndingResult = "ended" | "lost" | "withdrawn";

/** A job's one ending in this process; the first claimer's, every later one is refused. */
type Ending = { kind: EndingKind; claimed: Promise<boolean>; result: Promise<EndingResult> };

export type RunnerDeps = { db: Db; config: Config; log: Logger; ports: PortPoolApi; exports: ExportManagerApi };

/** How long a job's ending is retried while Postgres is away before its status is forced. */
const FINISH_RETRY_MS = 120_000;
/** …and while the server shuts down (the next start fails the job anyway). */
const FINISH_RETRY_STOPPING_MS = 10_000;
const ACTIVE_STATUSES = ["queued", "running"];
/** The queue is compared with Postgres every this many seconds. */
const QUEUE_SYNC_EVERY = 5;
const DISKS_IN_ORDER = { disks: { orderBy: { position: "asc" } } } as const;
const STATE = { status: true, ending: true } as const;

/** An ending this process decides on its own: its claim is written as the first step of finishing. */
const INTERNAL = { claimNow: false };

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class BackupRunner {
  readonly events: JobEvents;
  private readonly active = new Map<string, Active>();
  private readonly endings = new Map<string, Ending>();
  private queue: string[] = [];
  private pumping: Promise<void> | null = null;
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
   * job would otherwise stay "running" with nobody left to end it, holding its ports). The claim
   * is written first (again, when the claimer wrote it already): a claimer that finds another's
   * claim stands aside. After FINISH_RETRY_MS of failures the status is written anyway.
   */
  private async finish(jobId: string, outcome: Outcome, kind: EndingKind): Promise<void> {
    const began = Date.now();
    const by = outcome.status === "cancelled" ? outcome.by : undefined;
    for (let attempt = 0; ; attempt += 1) {
      const limit = this.stopping ? FINISH_RETRY_STOPPING_MS : FINISH_RETRY_MS;
      const force = Date.now() - began > limit;
      try {
        const takeOver = this.active.has(jobId);
        const claim = await claimEnding(this.deps.db, jobId, kind, { by, again: true, takeOver });
        if (!claim.won && ACTIVE_STATUSES.includes(claim.status)) {
          this.deps.log.warn(`another ending (${claim.ending}) claimed the job first; standing aside`, { job: jobId });
          return;
        }
        await finishJob(this.finishDeps, jobId, outcome, { force });
        return;
      } catch (error) {
        const message = messageOf(error);
        if (force || (this.stopping && Date.now() - began > limit)) {
          this.deps.log.error("could not end the job; the next start ends it", { job: jobId, error: message });
          throw error;
        }
        if (attempt === 0 || attempt % 10 === 0) {
          const what = error instanceof CleanupIncomplete ? "clean-up" : "database";
          const last = message.split("\n").filter(Boolean).slice(-1)[0];
          this.deps.log.warn(`could not end the job yet (${what}); retrying`, { job: jobId, attempt, error: last });
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  /**
   * Claim the job's ending. In this process the first caller wins at once (null for any later
   * one); then the claim is written with one guarded UPDATE (claim.ts) — at once when `claimNow`
   * (an API request must know before it answers), else as the first step of finishing. Only the
   * winner runs `body` (stop the job's work, decide the outcome) and then finishJob.
   */
  private beginEnding(
    jobId: string,
    kind: EndingKind,
    how: { claimNow: boolean; by?: string },
    body: () => Promise<Outcome>,
  ): Ending | null {
    if (this.endings.has(jobId)) return null;
    // A job that runs here is claimed here only: the in-process claim above already decided.
    const takeOver = this.active.has(jobId);
    const claimed = how.claimNow
      ? claimEnding(this.deps.db, jobId, kind, { by: how.by, takeOver }).then((r) => r.won)
      : Promise.resolve(true);
    const result = (async (): Promise<EndingResult> => {
      let won: boolean;
      try {
        won = await claimed;
      } catch {
        return "withdrawn";
      }
      if (!won) {
        // Claimed elsewhere (another server on this database): that claimer ends it.
        await this.stopWork(jobId);
        return "lost";
      }
      let outcome: Outcome;
      try {
        outcome = await body();
      } catch (error) {
        outcome = { status: "failed", reason: messageOf(error) };
      }
      // An ending that finally gave up was logged; the next start ends the job.
      await this.finish(jobId, outcome, kind).catch(() => undefined);
      return "ended";
    })();
    const ending: Ending = { kind, claimed, result };
    this.endings.set(jobId, ending);
    void result.then((r) => {
      if (this.endings.get(jobId) === ending) this.endings.delete(jobId);
      if (r !== "withdrawn") this.forget(jobId);
      void this.pump();
    });
    return ending;
  }

  /** An ending this process decided on its own (a failure, shutdown): it waits for any earlier claim. */
  private async endInternally(jobId: string, outcome: Outcome): Promise<void> {
    for (;;) {
      const ending = this.endings.get(jobId) ?? this.beginEnding(jobId, kindOf(outcome), INTERNAL, async () => outcome);
      // Withdrawn: an API ending could not write its claim; this one ends the job instead.
      if (!ending || (await ending.result) !== "withdrawn") return;
    }
  }

  /** Stop the job's work here (movers, preparation) and wait until its tasks have settled. */
  private async stopWork(jobId: string, graceMs?: number): Promise<void> {
    const active = this.active.get(jobId);
    if (!active) return;
    active.abort.abort();
    for (const disk of active.disks.values()) disk.mover?.kill(graceMs);
    await active.tasks;
  }

  /** The job left this process: out of the queue, not active. */
  private forget(jobId: string): void {
    this.queue = this.queue.filter((q) => q !== jobId);
    const active = this.active.get(jobId);
    if (!active) return;
    this.active.delete(jobId);
    active.settleDone();
  }

  private async retryLeftovers(): Promise<void> {
    if (this.leftovers.size === 0) return;
    try {
      const { db, config, log } = this.deps;
      const left = new Set(await removeLeftoverTargets(db, config.repositoryDir, log, [...this.leftovers]));
      for (const file of [...this.leftovers]) if (!left.has(file)) this.leftovers.delete(file);
    } catch (error) {
      this.deps.log.warn("could not retry removing leftover targets", { error: messageOf(error) });
    }
  }

  /** After a restart: jobs that were running end as failed (or as claimed); queued ones queue again. */
  async start(): Promise<void> {
    const { db, log } = this.deps;
    await killOrphanMovers(this.deps.config.runDir, log);
    // Running jobs, and queued jobs whose ending was claimed before the server went down.
    const interrupted = await db.backupJob.findMany({
      where: { OR: [{ status: "running" }, { status: "queued", ending: { not: null } }] },
      select: { id: true, status: true, ending: true, cancelledBy: true },
    });
    for (const job of interrupted) {
      const reason = job.status === "running" ? "interrupted by restart" : "ended by a request cut off by a restart";
      const by = job.cancelledBy ?? "unknown";
      const outcome: Outcome = job.ending === "cancelling" ? { status: "cancelled", by } : { status: "failed", reason };
      log.info(`job was ${job.status} when the server stopped: ending it (${outcome.status})`, { job: job.id });
      // Forced: a clean-up problem here is recorded on the job; it must not stop the start.
      await finishJob(this.finishDeps, job.id, outcome, { force: true });
    }
    // Targets a previous run could not remove (it crashed, or the repository was read-only).
    const leftovers = await removeLeftoverTargets(db, this.deps.config.repositoryDir, log).catch(() => [] as string[]);
    for (const file of leftovers) this.leftovers.add(file);
    const queued = await db.backupJob.findMany({ where: { status: "queued" }, orderBy: { createdAt: "asc" }, select: { id: true } });
    this.queue = queued.map((j) => j.id);
    this.deps.exports.on("exit", this.onExportExit);
    // Ports can be freed by anyone (an API release, another server): look again regularly.
    // …and compare the queue with Postgres (a job this process lost track of), every few seconds.
    let tick = 0;
    const look = async () => {
      tick += 1;
      if (tick % QUEUE_SYNC_EVERY === 0) await this.syncQueue();
      await this.pump();
    };
    this.timers.push(setInterval(() => void look(), 1000));
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

  private get poolSize(): number {
    const { min, max } = this.deps.config.portRange;
    return max - min + 1;
  }

  async create(request: StartBackupRequest, requestedBy: string): Promise<BackupJobView> {
    if (this.stopping) throw new ApiError("not_ready", 503, "nbdhub is shutting down");
    if (request.mover === "external" && request.disks.length > this.poolSize) {
      // Its client needs every export at once: such a job could never start.
      throw new ApiError(
        "port_pool_too_small",
        409,
        `an external job needs a port per disk at once: ${request.disks.length} disks, a pool of ${this.poolSize}`,
        { disks: `at most ${this.poolSize} for an external job` },
      );
    }
    const { db, config } = this.deps;
    const jobId = newJobId();
    const disks = await planDisks(db, config, jobId, request);
    await insertJob(db, jobId, request, disks, requestedBy);
    const what = `${request.type} backup of ${request.vmName} requested by ${requestedBy}`;
    await this.events.record(jobId, "job.created", `${what}: ${disks.length} disk(s), ${request.mover} mover`);
    if (!this.queue.includes(jobId)) this.queue.push(jobId);
    await this.pump();
    const active = this.active.get(jobId);
    if (active?.external) {
      // Answered with ready exports, or (preparation failed) once the job has ended.
      await active.tasks;
      if (!active.ready) await active.done;
    }
    const view = await this.view(jobId);
    if (view.status === "queued") await this.events.record(jobId, "job.queued", "waiting for free ports");
    return view;
  }

  /**
   * Postgres is the truth, the queue a cache of it. A queued job this process does not know
   * joins the queue in order of arrival: its POST /backups failed after the row was committed
   * (the database went away between the commit and the answer), so nobody had queued it, and it
   * would have stayed queued for good (issue 11, item 18). A queued job whose ending was claimed
   * but never finished (the claim was committed, its answer lost) is ended as claimed.
   */
  private async syncQueue(): Promise<void> {
    try {
      const rows = await this.deps.db.backupJob.findMany({
        where: { status: "queued" },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        select: { id: true, ending: true, cancelledBy: true },
      });
      const unknown = (id: string) => !this.active.has(id) && !this.endings.has(id);
      for (const row of rows.filter((r) => r.ending && unknown(r.id))) {
        const by = row.cancelledBy ?? "unknown";
        const reason = "ended by a request that was cut off";
        const cancelled = row.ending === "cancelling";
        const outcome: Outcome = cancelled ? { status: "cancelled", by } : { status: "failed", reason };
        this.deps.log.warn("a queued job's ending was claimed but not finished: ending it", { job: row.id });
        this.beginEnding(row.id, kindOf(outcome), INTERNAL, async () => outcome);
      }
      const missing = rows.filter((r) => !r.ending && unknown(r.id) && !this.queue.includes(r.id)).map((r) => r.id);
      if (missing.length === 0) return;
      this.deps.log.warn(`queued job(s) the queue did not know: ${missing.join(", ")}; queued in order of arrival`);
      const order = new Map(rows.map((r, i) => [r.id, i]));
      // Stable: jobs read after the query (newer) keep their place at the end.
      const rank = (id: string) => order.get(id) ?? Number.MAX_SAFE_INTEGER;
      this.queue = [...this.queue, ...missing].sort((a, b) => rank(a) - rank(b));
    } catch (error) {
      this.deps.log.warn("could not compare the queue with the database", { error: messageOf(error) });
    }
  }

  /** One pass over the queue at a time; a call during a pass makes it look once more, and waits for it. */
  private pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return this.pumping;
    }
    const pass = (async () => {
      try {
        do {
          this.pumpAgain = false;
          await this.admit();
        } while (this.pumpAgain && !this.stopping);
      } catch (error) {
        this.deps.log.warn("queue check failed", { error: messageOf(error) });
      } finally {
        this.pumping = null;
      }
    })();
    this.pumping = pass;
    return pass;
  }

  /**
   * Start queued jobs in order of arrival. The head is admitted only once the ports it needs
   * are reserved for it, all at once; while they are not free, nobody overtakes it (it cannot
   * starve), and a job admitted has its ports (two jobs never count the same free ports).
   */
  private async admit(): Promise<void> {
    const { db, ports, config, log } = this.deps;
    while (this.queue.length > 0 && !this.stopping) {
      const id = this.queue[0];
      // Being cancelled while queued: its ending takes it out of the queue and looks again.
      if (this.endings.has(id)) return;
      const job = await db.backupJob.findUnique({ where: { id }, include: DISKS_IN_ORDER });
      // The queue may change while we wait on the database (a queued job cancelled): the
      // head we looked at must still be the head we take, or another job would be lost.
      if (this.queue[0] !== id) continue;
      if (!job || job.status !== "queued" || job.ending) {
        this.queue.shift();
        continue;
      }
      const disks = job.disks.length;
      const parallel = job.mover === "external" ? disks : Math.min(disks, config.maxParallelDisks);
      const need = Math.min(parallel, this.poolSize);
      const exportNames = job.disks.slice(0, need).map((d) => d.exportName ?? `${job.vmName}-${d.diskId}`);
      let reserved: number[];
      try {
        reserved = (await ports.reserve(need, { jobId: id, vmName: job.vmName, exportNames })).map((a) => a.port);
      } catch (error) {
        if (isApiError(error) && error.code === "port_pool_exhausted") return;
        throw error;
      }
      if (this.queue[0] !== id || this.endings.has(id) || this.stopping) {
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

  private launch(job: JobWithDisks, ports: number[]): void {
    let settleDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (settleDone = resolve));
    const external = job.mover === "external";
    const active: Active = {
      id: job.id,
      external,
      abort: new AbortController(),
      ports,
      disks: new Map(),
      tasks: Promise.resolve(),
      ready: false,
      done,
      settleDone,
    };
    this.active.set(job.id, active);
    const work = (external ? this.prepareExternal(active) : this.runBuiltin(active)).catch(
      (error: unknown): Outcome => ({ status: "failed", reason: messageOf(error) }),
    );
    active.tasks = work.then(() => undefined);
    void work.then(async (outcome) => {
      if (outcome === null) await this.notStarted(job.id);
      // External jobs stay active (waiting for the client) unless their preparation failed.
      else if (outcome) await this.endInternally(job.id, outcome);
    });
  }

  /** The job was no longer queued when its turn came: whoever claimed its ending ends it. */
  private async notStarted(jobId: string): Promise<void> {
    for (;;) {
      const ending = this.endings.get(jobId);
      if (!ending) {
        await this.deps.ports.releaseJob(jobId).catch(() => undefined);
        this.forget(jobId);
        return;
      }
      if ((await ending.result) !== "withdrawn") return;
    }
  }

  /** Queued → running, only if still queued and nobody claimed its ending; null if not. */
  private async markRunning(jobId: string) {
    const { db } = this.deps;
    const now = new Date();
    const { count } = await db.backupJob.updateMany({
      where: { id: jobId, status: "queued", ending: null },
      data: { status: "running", startedAt: now, lastActivityAt: now },
    });
    if (count === 0) return null;
    await this.events.record(jobId, "job.started", "job started");
    return db.backupJob.findUniqueOrThrow({ where: { id: jobId }, include: DISKS_IN_ORDER });
  }

  /** A failure decided here (a disk failed, its export crashed): the job ends failed unless claimed already. */
  private fail(active: Active, reason: string): void {
    active.abort.abort();
    this.beginEnding(active.id, "failing", { claimNow: false }, async () => {
      await this.stopWork(active.id);
      return { status: "failed", reason };
    });
  }

  private async runBuiltin(active: Active): Promise<Outcome | null> {
    const job = await this.markRunning(active.id);
    if (!job) return null;
    const deps = { ...this.deps, events: this.events };
    const { signal } = active.abort;
    const errors: string[] = [];
    const pending = [...job.disks];
    const worker = async (reservedPort: number | undefined) => {
      let port = reservedPort;
      for (let disk = pending.shift(); disk; disk = pending.shift()) {
        if (signal.aborted) return;
        const state: RunningDisk = {};
        active.disks.set(disk.diskId, state);
        try {
          await runDisk(deps, job, disk, signal, state, port);
          // The export may have moved to another port (another program took the reserved one).
          port = state.port ?? port;
        } catch (error) {
          // Ended from outside (cancel, shutdown, another disk's failure): the finishing step
          // marks this disk with the job's reason. A crash of its own export stays its own.
          if (signal.aborted && this.endings.has(active.id) && !state.failure) return;
          const reason = `disk ${disk.diskId}: ${messageOf(error)}`;
          errors.push(reason);
          await this.deps.db.backupDisk
            .update({ where: { jobId_diskId: { jobId: job.id, diskId: disk.diskId } }, data: { status: "failed", error: reason, finishedAt: new Date() } })
            .catch((e: unknown) => {
              // The ending marks it failed with the job's reason once the database is back.
              const error = messageOf(e);
              this.deps.log.warn(`could not record the failure of disk ${disk.diskId}`, { job: job.id, reason, error });
            });
          await this.events.record(job.id, "disk.failed", reason, { diskId: disk.diskId, level: "error" });
          // One disk failing fails the job: stop the others now rather than copy in vain.
          this.fail(active, reason);
          return;
        }
      }
    };
    const { maxParallelDisks } = this.deps.config;
    const workers = Math.max(1, Math.min(maxParallelDisks, job.disks.length, active.ports.length || 1));
    await Promise.all(Array.from({ length: workers }, (_, i) => worker(active.ports[i])));
    return errors.length > 0 ? { status: "failed", reason: errors[0] } : { status: "completed" };
  }

  private async prepareExternal(active: Active): Promise<Outcome | undefined | null> {
    const job = await this.markRunning(active.id);
    if (!job) return null;
    const deps = { ...this.deps, events: this.events };
    try {
      for (const [index, disk] of job.disks.entries()) {
        const state: RunningDisk = {};
        active.disks.set(disk.diskId, state);
        const { port } = await prepareDisk(deps, job, disk, active.abort.signal, active.ports[index]);
        state.port = port;
        await this.deps.db.backupDisk.update({ where: { jobId_diskId: { jobId: job.id, diskId: disk.diskId } }, data: { status: "transferring" } });
      }
      active.ready = true;
      await this.events.record(job.id, "job.ready", "exports ready: waiting for the backup client to write and report");
      this.events.changed(job.id);
      return undefined;
    } catch (error) {
      // Its ending was claimed (a cancel, a crash, shutdown): the claimer ends it.
      if (error instanceof Aborted && this.endings.has(active.id)) return undefined;
      return { status: "failed", reason: messageOf(error) };
    }
  }

  /** A qemu-nbd that died under a running job fails the disk it served. */
  private exportExited(exit: ExportExit): void {
    if (exit.expected) return;
    const active = this.active.get(exit.export.jobId);
    if (!active) return;
    const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`;
    const said = exit.stderrTail ? `: ${exit.stderrTail.split("\n").slice(-1)[0]}` : "";
    const { diskId, port } = exit.export;
    const reason = `disk ${diskId}: the export's qemu-nbd on port ${port} crashed (${how})${said}`;
    const state = active.disks.get(exit.export.diskId);
    if (state) state.failure = reason;
    void this.events.record(active.id, "export.crashed", reason, { diskId: exit.export.diskId, level: "error" });
    // An ending already under way (a complete) finds the export gone and fails on its own.
    this.fail(active, reason);
  }

  /** The claim of an API ending: resolves when won; else 409 (job_finished / job_ending) or the database's error. */
  private async settleClaim(jobId: string, ending: Ending): Promise<void> {
    if (await ending.claimed) return;
    const row = await this.deps.db.backupJob.findUnique({ where: { id: jobId }, select: STATE });
    throw endingConflict(jobId, row ?? { status: "missing", ending: null });
  }

  /**
   * In-process claim first: a second ending of a job that one is ending already is refused. For
   * a job running here, only this process's claims count (a claim in the row with no ending here
   * was withdrawn: its writer never learnt it committed).
   */
  private refuseIfEnding(jobId: string, row: { status: string; ending: string | null }): void {
    const kind = this.endings.get(jobId)?.kind ?? (this.active.has(jobId) ? null : row.ending);
    if (ACTIVE_STATUSES.includes(row.status) && !kind) return;
    throw endingConflict(jobId, { status: row.status, ending: kind });
  }

  async cancel(id: string, by: string): Promise<BackupJobView> {
    const job = await this.deps.db.backupJob.findUnique({ where: { id }, select: { status: true, ending: true } });
    if (!job) throw notFound(`backup job ${id}`);
    this.refuseIfEnding(id, job);
    const ending = this.beginEnding(id, "cancelling", { claimNow: true, by }, async () => {
      await this.events.record(id, "job.cancel_requested", `cancel requested by ${by}`);
      await this.stopWork(id, 2000);
      return { status: "cancelled", by };
    });
    if (!ending) throw endingConflict(id, { status: job.status, ending: this.endings.get(id)?.kind ?? null });
    await this.settleClaim(id, ending);
    await ending.result;
    return this.view(id);
  }

  private async externalJob(id: string) {
    const job = await this.deps.db.backupJob.findUnique({ where: { id }, include: DISKS_IN_ORDER });
    if (!job) throw notFound(`backup job ${id}`);
    if (job.mover !== "external") throw new ApiError("not_external", 409, `job ${id} uses the built-in mover; only external jobs take reports`);
    this.refuseIfEnding(id, job);
    return job;
  }

  async progress(id: string, diskId: string, body: { transferredBytes: number; totalBytes?: number }) {
    const job = await this.externalJob(id);
    const disk = job.disks.find((d) => d.diskId === diskId);
    if (!disk) throw notFound(`disk ${diskId} of job ${id}`);
    const total = Number(disk.totalBytes);
    // The disk's size was fixed when the job was created (its sizeBytes): a report cannot shrink
    // it, or a short transfer would look complete.
    if (body.totalBytes !== undefined && body.totalBytes !== total) {
      const sentence = `totalBytes: disk ${diskId} is ${total} bytes (its sizeBytes)`;
      throw new ApiError("validation_failed", 422, sentence, { totalBytes: `${total}, or leave it out` });
    }
    if (body.transferredBytes > total) {
      throw new ApiError("validation_failed", 422, "transferredBytes is larger than the disk", { transferredBytes: `at most ${total}` });
    }
    const now = new Date();
    const seconds = disk.startedAt ? (now.getTime() - disk.startedAt.getTime()) / 1000 : 0;
    const rate = seconds > 0 ? body.transferredBytes / seconds : 0;
    const updated = await this.deps.db.backupDisk.update({
      where: { jobId_diskId: { jobId: id, diskId } },
      data: {
        transferredBytes: BigInt(body.transferredBytes),
        bytesPerSecond: rate,
        etaSeconds: rate > 0 ? Math.round((total - body.transferredBytes) / rate) : null,
      },
    });
    const sums = await this.deps.db.backupDisk.aggregate({ where: { jobId: id }, _sum: { transferredBytes: true, totalBytes: true } });
    await this.deps.db.backupJob.update({
      where: { id },
      data: { lastActivityAt: now, transferredBytes: sums._sum.transferredBytes ?? BigInt(0), totalBytes: sums._sum.totalBytes ?? BigInt(0) },
    });
    this.events.changed(id);
    return updated;
  }

  /**
   * The backup client is done. Refused, changing nothing, unless every disk is named and its
   * reported bytes cover the disk (409 incomplete_transfer: the job keeps running). Then the
   * ending is claimed (a cancel, a fail or the stale check coming later is refused or stands
   * aside), each export stopped and its target checked; the job completes or fails.
   */
  async complete(id: string, body: { disks: { diskId: string; changeId?: string }[] }): Promise<BackupJobView> {
    const job = await this.externalJob(id);
    const active = this.active.get(id);
    if (!active || job.status !== "running" || !active.ready) {
      throw new ApiError("job_not_ready", 409, `job ${id} has no exports ready yet (${job.status})`);
    }
    const named = new Set(body.disks.map((d) => d.diskId));
    const missing = job.disks.filter((d) => !named.has(d.diskId)).map((d) => d.diskId);
    const unknown = [...named].filter((n) => !job.disks.some((d) => d.diskId === n));
    if (missing.length || unknown.length) {
      throw new ApiError("validation_failed", 422, "complete must name every disk of the job, and only those", {
        disks: [missing.length ? `missing: ${missing.join(", ")}` : "", unknown.length ? `unknown: ${unknown.join(", ")}` : ""].filter(Boolean).join("; "),
      });
    }
    const short = uncovered(job.disks);
    if (short.length > 0) throw incompleteTransfer(id, short);
    const deps = { ...this.deps, events: this.events };
    const ending = this.beginEnding(id, "completing", { claimNow: true }, async () => {
      try {
        for (const disk of job.disks) {
          const changeId = body.disks.find((d) => d.diskId === disk.diskId)?.changeId;
          const where = { jobId_diskId: { jobId: id, diskId: disk.diskId } };
          if (changeId) await this.deps.db.backupDisk.update({ where, data: { changeId } });
          const port = active.disks.get(disk.diskId)?.port ?? disk.port;
          if (port === null || port === undefined) throw new Error(`disk ${disk.diskId} has no export`);
          await finishDisk(deps, job, disk, port, null);
        }
        return { status: "completed" };
      } catch (error) {
        return { status: "failed", reason: messageOf(error) };
      }
    });
    if (!ending) throw endingConflict(id, { status: job.status, ending: this.endings.get(id)?.kind ?? null });
    await this.settleClaim(id, ending);
    await ending.result;
    return this.view(id);
  }

  async failExternal(id: string, message: string): Promise<BackupJobView> {
    const job = await this.externalJob(id);
    const reason = `the backup client reported a failure: ${message}`;
    const ending = this.beginEnding(id, "failing", { claimNow: true }, async () => {
      await this.stopWork(id);
      return { status: "failed", reason };
    });
    if (!ending) throw endingConflict(id, { status: job.status, ending: this.endings.get(id)?.kind ?? null });
    await this.settleClaim(id, ending);
    await ending.result;
    return this.view(id);
  }

  /** External jobs silent for NBDHUB_STALE_AFTER_SECONDS fail as stale (unless another ending has them). */
  private async checkStale(): Promise<void> {
    const limit = this.deps.config.staleAfterSeconds;
    const before = new Date(Date.now() - limit * 1000);
    try {
      const stale = await this.deps.db.backupJob.findMany({
        where: { mover: "external", status: "running", lastActivityAt: { lt: before } },
        select: { id: true },
      });
      for (const { id } of stale) {
        if (!this.active.has(id)) continue;
        const reason = `stale: the backup client reported nothing for ${limit} s`;
        this.beginEnding(id, "failing", { claimNow: false }, async () => {
          await this.stopWork(id);
          return { status: "failed", reason };
        });
      }
    } catch (error) {
      this.deps.log.warn("stale check failed", { error: messageOf(error) });
    }
  }

  /** Server shutdown: running jobs end as failed through the same path, and are waited for. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.deps.exports.off("exit", this.onExportExit);
    // A pass reserving ports right now gives them back once it sees the shutdown.
    await this.pumping;
    const reason = "interrupted by server shutdown";
    // An API ending that could not write its claim is withdrawn: end that job here instead.
    for (let round = 0; round < 3 && (this.active.size > 0 || this.endings.size > 0); round += 1) {
      for (const active of this.active.values()) {
        this.beginEnding(active.id, "failing", { claimNow: false }, async () => {
          await this.stopWork(active.id, 2000);
          return { status: "failed", reason };
        });
      }
      await Promise.allSettled([...this.endings.values()].map((e) => e.result));
    }
    const left = this.active.size;
    if (left > 0) this.deps.log.error(`stopped with ${left} job(s) not ended; the next start ends them`);
  }
}
