// The backup runner, a thin coordinator of its parts: the admission queue (admission.ts) admits
// jobs once their ports are reserved, built-in jobs copy their disks (builtin-job.ts), external
// jobs wait for their client's reports (external-job.ts), and every job ends through one claimed
// ending (job-control.ts, finish-retry.ts, finish.ts). Postgres holds the truth; the runner's
// state (runner-state.ts) is this process's cache of it.
import "server-only";
import { conflict, notFound, unavailable } from "@/lib/errors";
import { isDatabaseUnavailable } from "@/lib/db/unavailable";
import type { ExportExit } from "@/lib/nbd/types";
import { newDiskKeys, withDiskKeys } from "@/lib/nbd/tls-keys";
import { Admission, type JobWithDisks } from "./admission";
import { runBuiltinJob } from "./builtin-job";
import { insertJob, newJobId, planDisks, type JobOrigin } from "./create";
import type { JobEvents } from "./events";
import { ExternalJobs } from "./external-job";
import type { Outcome } from "./finish";
import { JobControl } from "./job-control";
import { recoverJobs } from "./restart-recovery";
import { checkRepositorySpace } from "./space-check";
import { RunnerState, type Active, type RunnerDeps } from "./runner-state";
import { jobView, type BackupJobView } from "./serialize";
import type { CompletionReport, ProgressReport, StartBackupInput } from "./types";
import { messageOf } from "@/lib/messages";

export type { RunnerDeps };

/** The queue is compared with Postgres every this many seconds. */
const QUEUE_SYNC_EVERY = 5;

export class BackupRunner {
  readonly events: JobEvents;
  private readonly state: RunnerState;
  private readonly control: JobControl;
  private readonly admission: Admission;
  private readonly external: ExternalJobs;
  private timers: NodeJS.Timeout[] = [];
  private readonly onExportExit = (exit: ExportExit) => this.control.exportExited(exit);

  constructor(deps: RunnerDeps) {
    this.state = new RunnerState(deps);
    this.events = this.state.events;
    this.control = new JobControl(this.state, {
      leftQueue: (jobId) => this.admission.remove(jobId),
      pump: () => this.admission.pump(),
    });
    this.admission = new Admission(this.state, this.control, (job, ports) => this.launch(job, ports));
    this.external = new ExternalJobs(this.state, this.control);
  }

  /** At start, before start(): settle what a previous run left (restart-recovery.ts). */
  async reconcile(): Promise<void> {
    for (const file of await recoverJobs(this.state.finishDeps)) this.state.leftovers.add(file);
  }

  /** Queued jobs queue again; the runner starts looking at the queue, stale jobs and leftovers. */
  async start(): Promise<void> {
    const { exports, config } = this.state.deps;
    await this.admission.load();
    exports.on("exit", this.onExportExit);
    // Ports can be freed by anyone (an API release, another server): look again regularly.
    // …and compare the queue with Postgres (a job this process lost track of), every few seconds.
    let tick = 0;
    const look = async () => {
      tick += 1;
      if (tick % QUEUE_SYNC_EVERY === 0) await this.admission.syncQueue();
      await this.admission.pump();
    };
    this.timers.push(setInterval(() => void look(), 1000));
    const staleEvery = Math.min(5000, config.staleAfterSeconds * 500, config.stallSeconds * 500);
    this.timers.push(setInterval(() => void this.external.checkStale(), staleEvery));
    this.timers.push(setInterval(() => void this.state.leftovers.retry(), 5000));
    for (const t of this.timers) t.unref();
    void this.admission.pump();
  }

  async view(id: string): Promise<BackupJobView> {
    const job = await this.state.deps.db.backupJob.findUnique({ where: { id }, include: { disks: true } });
    if (!job) throw notFound(`backup job ${id}`);
    return jobView(job);
  }

  /** `origin.policyId`: the policy whose run this is (the job row links back to it). */
  async create(request: StartBackupInput, requestedBy: string, origin: JobOrigin = {}): Promise<BackupJobView> {
    const { state } = this;
    if (state.stopping) throw unavailable("not_ready", "nbdhub is shutting down");
    if (request.mover === "external" && request.disks.length > state.poolSize) {
      // Its client needs every export at once: such a job could never start.
      throw conflict(
        "port_pool_too_small",
        `an external job needs a port per disk at once: ${request.disks.length} disks, a pool of ${state.poolSize}`,
        { disks: `at most ${state.poolSize} for an external job` },
      );
    }
    const { db, config } = state.deps;
    const jobId = newJobId();
    const disks = await planDisks(db, config, jobId, request);
    // Refused before anything exists when it would not fit (507 repository_full).
    await checkRepositorySpace(db, config, disks);
    // An external job's client gets its exports' TLS keys in this answer, whether the job starts
    // now or waits for ports: made here, used by the exports when they start (NBDHUB_NBD_TLS).
    if (request.mover === "external" && config.nbdTls === "required")
      state.tlsKeys.set(jobId, newDiskKeys(jobId, disks));
    const inserted = await insertJob(db, config.nodeName, jobId, request, disks, requestedBy, origin).catch(
      (error: unknown) => {
        state.tlsKeys.delete(jobId);
        throw error;
      },
    );
    const what = `${request.type} backup of ${request.vmName} requested by ${requestedBy}`;
    await this.events.record(jobId, "job.created", `${what}: ${disks.length} disk(s), ${request.mover} mover`);
    this.admission.enqueue(jobId);
    try {
      await this.admission.pump();
      await this.preparedOrEnded(jobId);
      let view = await this.view(jobId);
      // A pass already under way may have started the job after the lookup above (this request's
      // pump joined it): wait for it as for a job this request started. Read it again even when
      // there was nothing to wait for: an ending may have finished (and the job left `active`)
      // between the read above and the wait, and that read still said "running". A built-in
      // job's "running" is its answer (it is not waited for): no second read on that path.
      if (view.status === "running" && view.mover === "external") {
        await this.preparedOrEnded(jobId);
        view = await this.view(jobId);
      }
      if (view.status === "queued") await this.events.record(jobId, "job.queued", "waiting for free ports");
      return this.handOutKeys(view);
    } catch (error) {
      // The job exists from the insert on: the request was accepted, and its answer must say so
      // (a 503 here told the caller to try again while the job ran: a second job, and an audit
      // row saying "failed" for a job that ran). The queue's sync with Postgres starts it once
      // the database is back; the answer is the row as inserted. (A connection cut mid-query
      // can surface as an error no code marks as "unavailable": it answered 500 the same way.)
      const unreachable = isDatabaseUnavailable(error);
      const why = unreachable ? "the database could not be reached" : messageOf(error);
      state.deps.log[unreachable ? "warn" : "error"](
        `job ${jobId} was created, then following it up failed (${why}): answering it as queued`,
        { job: jobId },
      );
      return this.handOutKeys(jobView(inserted));
    }
  }

  /**
   * The answer that created an external job carries each disk's TLS key (NBDHUB_NBD_TLS=required),
   * and is the only one: no later read of the job has them.
   */
  private handOutKeys(view: BackupJobView): BackupJobView {
    const keys = this.state.tlsKeys.get(view.id);
    return keys ? { ...view, disks: withDiskKeys(view.disks, keys) } : view;
  }

  /**
   * An external job running here is answered with ready exports, or (its preparation failed)
   * once it has ended. False when there was nothing to wait for.
   */
  private async preparedOrEnded(jobId: string): Promise<boolean> {
    const active = this.state.active.get(jobId);
    if (!active?.external) return false;
    await active.tasks;
    if (!active.ready) await active.done;
    return true;
  }

  async cancel(id: string, by: string): Promise<BackupJobView> {
    await this.control.cancel(id, by);
    return this.view(id);
  }

  progress(id: string, diskId: string, body: ProgressReport) {
    return this.external.progress(id, diskId, body);
  }

  async complete(id: string, body: CompletionReport): Promise<BackupJobView> {
    await this.external.complete(id, body);
    return this.view(id);
  }

  async failExternal(id: string, message: string): Promise<BackupJobView> {
    await this.external.fail(id, message);
    return this.view(id);
  }

  /** Server shutdown: running jobs end as failed through the same path, and are waited for. */
  async stop(): Promise<void> {
    this.state.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.state.deps.exports.off("exit", this.onExportExit);
    // A pass reserving ports right now gives them back once it sees the shutdown.
    await this.admission.settled();
    await this.control.endAll("interrupted by server shutdown");
    // Events kept through a database outage: one last try while the database still runs.
    await this.events.flush();
    const left = this.state.active.size;
    if (left > 0) this.state.deps.log.error(`stopped with ${left} job(s) not ended; the next start ends them`);
  }

  /** A job that runs past its maxRunSeconds fails ("ran past its time limit"), through the one ending path. */
  private limitRunTime(active: Active, maxRunSeconds: number | null): void {
    if (!maxRunSeconds) return;
    const timer = setTimeout(() => {
      if (this.state.endings.has(active.id)) return;
      const reason = `ran past its time limit of ${maxRunSeconds} s`;
      void this.events.record(active.id, "job.time_limit", reason, { level: "error" });
      this.control.fail(active, reason);
    }, maxRunSeconds * 1000);
    timer.unref();
    void active.done.then(() => clearTimeout(timer));
  }

  /** An admitted job, on its reserved ports: built-in jobs run; external jobs prepare their exports. */
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
      retries: external ? 0 : job.retries,
      tasks: Promise.resolve(),
      ready: false,
      done,
      settleDone,
    };
    this.state.active.set(job.id, active);
    this.limitRunTime(active, job.maxRunSeconds);
    const work = (external ? this.external.prepare(active) : runBuiltinJob(this.state, this.control, active)).catch(
      (error: unknown): Outcome => ({ status: "failed", reason: messageOf(error) }),
    );
    active.tasks = work.then(() => undefined);
    void work.then(async (outcome) => {
      if (outcome === null) await this.control.notStarted(job.id);
      // External jobs stay active (waiting for the client) unless their preparation failed.
      else if (outcome) await this.control.endInternally(job.id, outcome);
    });
  }
}
