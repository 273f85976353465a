// How a job ends in this process: cancel, a failure decided here (a disk failed, an export
// crashed, the client went silent), an API ending (complete, fail) and shutdown. Every ending
// is claimed first, in this process and then in Postgres (claim.ts): the first claimer alone
// stops the job's work, decides the outcome and finishes the job (finish-retry.ts); every later
// ending is refused (409) or stands aside (docs/decisions/006-one-ending-path.md).
import "server-only";
import { notFound, otherNode } from "@/lib/errors";
import type { ExportExit } from "@/lib/nbd/types";
import { claimEnding, endingConflict, kindOf, type EndingKind } from "./claim";
import type { Outcome } from "./finish";
import { finishWithRetry } from "./finish-retry";
import { ACTIVE_STATUSES, type Active, type Ending, type EndingResult, type RunnerState } from "./runner-state";
import { reasonOf } from "@/lib/db/unavailable";

/** An ending this process decides on its own: its claim is written as the first step of finishing. */
const INTERNAL = { claimNow: false };

/** What happens once a job left this process: it leaves the queue, and the queue is looked at again. */
export type AfterEnding = { leftQueue(jobId: string): void; pump(): Promise<void> };

export class JobControl {
  constructor(
    private readonly state: RunnerState,
    private readonly after: AfterEnding,
  ) {}

  /**
   * Claim the job's ending. In this process the first caller wins at once (null for any later
   * one); then the claim is written with one guarded UPDATE (claim.ts) — at once when `claimNow`
   * (an API request must know before it answers), else as the first step of finishing. Only the
   * winner runs `body` (stop the job's work, decide the outcome) and then finishJob.
   */
  beginEnding(
    jobId: string,
    kind: EndingKind,
    how: { claimNow: boolean; by?: string },
    body: () => Promise<Outcome>,
  ): Ending | null {
    const { state } = this;
    if (state.endings.has(jobId)) return null;
    // A job that runs here is claimed here only: the in-process claim above already decided.
    const takeOver = state.active.has(jobId);
    const claimed = how.claimNow
      ? claimEnding(state.deps.db, jobId, kind, { by: how.by, takeOver }).then((r) => r.won)
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
        outcome = { status: "failed", reason: reasonOf(error) };
      }
      // An ending that finally gave up was logged; the next start ends the job.
      await finishWithRetry(state, jobId, outcome, kind).catch(() => undefined);
      return "ended";
    })();
    const ending: Ending = { kind, claimed, result };
    state.endings.set(jobId, ending);
    void result.then((r) => {
      if (state.endings.get(jobId) === ending) state.endings.delete(jobId);
      if (r !== "withdrawn") this.forget(jobId);
      void this.after.pump();
    });
    return ending;
  }

  /** An ending this process decided on its own (a failure, shutdown): it waits for any earlier claim. */
  async endInternally(jobId: string, outcome: Outcome): Promise<void> {
    for (;;) {
      const ending =
        this.state.endings.get(jobId) ?? this.beginEnding(jobId, kindOf(outcome), INTERNAL, async () => outcome);
      // Withdrawn: an API ending could not write its claim; this one ends the job instead.
      if (!ending || (await ending.result) !== "withdrawn") return;
    }
  }

  /**
   * An ending asked for by a request (cancel, complete, fail): claimed before the answer, which
   * waits for the job to have ended. 409 when another ending has the job or it ended already.
   */
  async endOnRequest(
    jobId: string,
    jobStatus: string,
    kind: EndingKind,
    how: { by?: string },
    body: () => Promise<Outcome>,
  ): Promise<void> {
    const ending = this.beginEnding(jobId, kind, { claimNow: true, by: how.by }, body);
    const other = () => this.state.endings.get(jobId)?.kind ?? null;
    if (!ending) throw endingConflict(jobId, { status: jobStatus, ending: other() });
    await this.settleClaim(jobId, ending);
    await ending.result;
  }

  /** Stop the job's work here (movers, preparation) and wait until its tasks have settled. */
  async stopWork(jobId: string, graceMs?: number): Promise<void> {
    const active = this.state.active.get(jobId);
    if (!active) return;
    active.abort.abort();
    for (const disk of active.disks.values()) disk.mover?.kill(graceMs);
    await active.tasks;
  }

  /** The job left this process: out of the queue, not active. */
  forget(jobId: string): void {
    this.after.leftQueue(jobId);
    this.state.tlsKeys.delete(jobId);
    const active = this.state.active.get(jobId);
    if (!active) return;
    this.state.active.delete(jobId);
    active.settleDone();
  }

  /** A failure decided here (a disk failed, its export crashed): the job ends failed unless claimed already. */
  fail(active: Active, reason: string): void {
    active.abort.abort();
    this.beginEnding(active.id, "failing", INTERNAL, async () => {
      await this.stopWork(active.id);
      return { status: "failed", reason };
    });
  }

  /** An ending decided from the row alone (a queued job whose claim was never finished): no work to stop. */
  endAsClaimed(jobId: string, outcome: Outcome): void {
    this.beginEnding(jobId, kindOf(outcome), INTERNAL, async () => outcome);
  }

  /** The job was no longer queued when its turn came: whoever claimed its ending ends it. */
  async notStarted(jobId: string): Promise<void> {
    for (;;) {
      const ending = this.state.endings.get(jobId);
      if (!ending) {
        await this.state.deps.ports.releaseJob(jobId).catch(() => undefined);
        this.forget(jobId);
        return;
      }
      if ((await ending.result) !== "withdrawn") return;
    }
  }

  /**
   * In-process claim first: a second ending of a job that one is ending already is refused. For
   * a job running here, only this process's claims count (a claim in the row with no ending here
   * was withdrawn: its writer never learnt it committed).
   */
  refuseIfEnding(jobId: string, row: { status: string; ending: string | null }): void {
    const kind = this.state.endings.get(jobId)?.kind ?? (this.state.active.has(jobId) ? null : row.ending);
    if (ACTIVE_STATUSES.includes(row.status) && !kind) return;
    throw endingConflict(jobId, { status: row.status, ending: kind });
  }

  async cancel(id: string, by: string): Promise<void> {
    const { db, config } = this.state.deps;
    const job = await db.backupJob.findUnique({ where: { id }, select: { status: true, ending: true, node: true } });
    if (!job) throw notFound(`backup job ${id}`);
    // Another node's job is that node's to end: the request goes to it (lib/runtime/owner-control.ts).
    if (job.node !== config.nodeName) throw otherNode(`backup job ${id}`, job.node, config.nodeName);
    this.refuseIfEnding(id, job);
    await this.endOnRequest(id, job.status, "cancelling", { by }, async () => {
      await this.state.events.record(id, "job.cancel_requested", `cancel requested by ${by}`);
      await this.stopWork(id, 2000);
      return { status: "cancelled", by };
    });
  }

  /** A qemu-nbd that died under a running job fails the disk it served. */
  exportExited(exit: ExportExit): void {
    if (exit.expected) return;
    const active = this.state.active.get(exit.export.jobId);
    if (!active) return;
    const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`;
    const said = exit.stderrTail ? `: ${exit.stderrTail.split("\n").slice(-1)[0]}` : "";
    const { diskId, port } = exit.export;
    const reason = `disk ${diskId}: the export's qemu-nbd on port ${port} crashed (${how})${said}`;
    const disk = active.disks.get(exit.export.diskId);
    if (disk) disk.failure = reason;
    void this.state.events.record(active.id, "export.crashed", reason, { diskId, level: "error" });
    if (disk && !active.external && active.retries > 0) {
      // The disk's worker sees its copy fail with this reason and tries again (disk-retry.ts),
      // or fails the job once its attempts are used up.
      disk.mover?.kill();
      return;
    }
    // An ending already under way (a complete) finds the export gone and fails on its own.
    this.fail(active, reason);
  }

  /** Server shutdown: running jobs end as failed through the same path, and are waited for. */
  async endAll(reason: string): Promise<void> {
    const { state } = this;
    // An API ending that could not write its claim is withdrawn: end that job here instead.
    for (let round = 0; round < 3 && (state.active.size > 0 || state.endings.size > 0); round += 1) {
      for (const active of state.active.values()) {
        this.beginEnding(active.id, "failing", INTERNAL, async () => {
          await this.stopWork(active.id, 2000);
          return { status: "failed", reason };
        });
      }
      await Promise.allSettled([...state.endings.values()].map((e) => e.result));
    }
  }

  /** The claim of an API ending: resolves when won; else 409 (job_finished / job_ending) or the database's error. */
  private async settleClaim(jobId: string, ending: Ending): Promise<void> {
    if (await ending.claimed) return;
    const select = { status: true, ending: true } as const;
    const row = await this.state.deps.db.backupJob.findUnique({ where: { id: jobId }, select });
    throw endingConflict(jobId, row ?? { status: "missing", ending: null });
  }
}
