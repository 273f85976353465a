// A job whose disks an external backup client writes: every disk's export is prepared at once
// (the client needs them all), then the client reports progress, completes or fails through
// the API; a client silent for NBDHUB_STALL_SECONDS shows stalled, and one silent for
// NBDHUB_STALE_AFTER_SECONDS (else NBDHUB_STALL_FAIL_SECONDS) fails the job as stale.
import "server-only";
import { conflict, invalid, invalidInput, notFound, otherNode } from "@/lib/errors";
import { markRunning } from "./admission";
import { incompleteTransfer, uncovered } from "./coverage";
import { Aborted, finishDisk, prepareDisk, type RunningDisk } from "./disk-task";
import type { Outcome } from "./finish";
import type { JobControl } from "./job-control";
import { DISKS_IN_ORDER, type Active, type RunnerState } from "./runner-state";
import type { CompletionReport, ProgressReport } from "./types";
import { messageOf } from "@/lib/messages";

export class ExternalJobs {
  constructor(
    private readonly state: RunnerState,
    private readonly control: JobControl,
  ) {}

  /**
   * Start every export of the job. undefined: ready for the client (or its ending was claimed
   * meanwhile: the claimer ends it); null: the job was no longer queued; else the failure.
   */
  async prepare(active: Active): Promise<Outcome | undefined | null> {
    const { state } = this;
    const job = await markRunning(state, active.id);
    if (!job) return null;
    const deps = state.taskDeps;
    // Its client got keys for its exports when the job was created, in this process's memory only:
    // a job this process did not create (queued across a restart) has none that anyone holds.
    if (deps.config.nbdTls === "required" && !state.tlsKeys.has(job.id))
      return {
        status: "failed",
        reason:
          "its TLS keys were made by a server process that has since stopped, so no client holds the keys " +
          "to its exports: post the job again",
      };
    try {
      for (const [index, disk] of job.disks.entries()) {
        const running: RunningDisk = {};
        active.disks.set(disk.diskId, running);
        const tlsKey = state.tlsKeys.get(job.id)?.get(disk.diskId);
        const { port } = await prepareDisk(deps, job, disk, active.abort.signal, active.ports[index], tlsKey);
        running.port = port;
        const where = { jobId_diskId: { jobId: job.id, diskId: disk.diskId } };
        await state.deps.db.backupDisk.update({ where, data: { status: "transferring" } });
      }
      active.ready = true;
      const ready = "exports ready: waiting for the backup client to write and report";
      await state.events.record(job.id, "job.ready", ready);
      state.events.changed(job.id);
      return undefined;
    } catch (error) {
      // Its ending was claimed (a cancel, a crash, shutdown): the claimer ends it.
      if (error instanceof Aborted && state.endings.has(active.id)) return undefined;
      return { status: "failed", reason: messageOf(error) };
    }
  }

  async progress(id: string, diskId: string, body: ProgressReport) {
    const { db } = this.state.deps;
    const job = await this.externalJob(id);
    const disk = job.disks.find((d) => d.diskId === diskId);
    if (!disk) throw notFound(`disk ${diskId} of job ${id}`);
    const total = Number(disk.totalBytes);
    // The disk's size was fixed when the job was created (its sizeBytes): a report cannot shrink
    // it, or a short transfer would look complete.
    if (body.totalBytes !== undefined && body.totalBytes !== total) {
      const sentence = `totalBytes: disk ${diskId} is ${total} bytes (its sizeBytes)`;
      throw invalidInput({ totalBytes: `${total}, or leave it out` }, sentence);
    }
    if (body.transferredBytes > total) {
      throw invalidInput({ transferredBytes: `at most ${total}` }, "transferredBytes is larger than the disk");
    }
    const now = new Date();
    const seconds = disk.startedAt ? (now.getTime() - disk.startedAt.getTime()) / 1000 : 0;
    const rate = seconds > 0 ? body.transferredBytes / seconds : 0;
    const updated = await db.backupDisk.update({
      where: { jobId_diskId: { jobId: id, diskId } },
      data: {
        transferredBytes: BigInt(body.transferredBytes),
        bytesPerSecond: rate,
        etaSeconds: rate > 0 ? Math.round((total - body.transferredBytes) / rate) : null,
      },
    });
    const sums = await db.backupDisk.aggregate({
      where: { jobId: id },
      _sum: { transferredBytes: true, totalBytes: true },
    });
    // A report is the client's sign of life: none of the job's disks is stalled any more.
    await db.backupDisk.updateMany({ where: { jobId: id, stalledSince: { not: null } }, data: { stalledSince: null } });
    await db.backupJob.update({
      where: { id },
      data: {
        lastActivityAt: now,
        transferredBytes: sums._sum.transferredBytes ?? BigInt(0),
        totalBytes: sums._sum.totalBytes ?? BigInt(0),
      },
    });
    this.state.events.changed(id);
    return updated;
  }

  /**
   * The backup client is done. Refused, changing nothing, unless every disk is named and its
   * reported bytes cover the disk (409 incomplete_transfer: the job keeps running). Then the
   * ending is claimed (a cancel, a fail or the stale check coming later is refused or stands
   * aside), each export stopped and its target checked; the job completes or fails.
   */
  async complete(id: string, body: CompletionReport): Promise<void> {
    const { state } = this;
    const job = await this.externalJob(id);
    const active = state.active.get(id);
    if (!active || job.status !== "running" || !active.ready) {
      throw conflict("job_not_ready", `job ${id} has no exports ready yet (${job.status})`);
    }
    const named = new Set(body.disks.map((d) => d.diskId));
    const missing = job.disks.filter((d) => !named.has(d.diskId)).map((d) => d.diskId);
    const unknown = [...named].filter((n) => !job.disks.some((d) => d.diskId === n));
    if (missing.length || unknown.length) {
      const disks = [
        missing.length ? `missing: ${missing.join(", ")}` : "",
        unknown.length ? `unknown: ${unknown.join(", ")}` : "",
      ];
      const sentence = "complete must name every disk of the job, and only those";
      throw invalid("validation_failed", sentence, { disks: disks.filter(Boolean).join("; ") });
    }
    const short = uncovered(job.disks);
    if (short.length > 0) throw incompleteTransfer(id, short);
    const deps = state.taskDeps;
    await this.control.endOnRequest(id, job.status, "completing", {}, async () => {
      try {
        for (const disk of job.disks) {
          const changeId = body.disks.find((d) => d.diskId === disk.diskId)?.changeId;
          const where = { jobId_diskId: { jobId: id, diskId: disk.diskId } };
          if (changeId) await state.deps.db.backupDisk.update({ where, data: { changeId } });
          const port = active.disks.get(disk.diskId)?.port ?? disk.port;
          if (port === null || port === undefined) throw new Error(`disk ${disk.diskId} has no export`);
          await finishDisk(deps, job, disk, port, null);
        }
        return { status: "completed" };
      } catch (error) {
        return { status: "failed", reason: messageOf(error) };
      }
    });
  }

  async fail(id: string, message: string): Promise<void> {
    const job = await this.externalJob(id);
    const reason = `the backup client reported a failure: ${message}`;
    await this.control.endOnRequest(id, job.status, "failing", {}, async () => {
      await this.control.stopWork(id);
      return { status: "failed", reason };
    });
  }

  /**
   * The stall rule for external jobs, where silence is the only sign: a job whose client reported
   * nothing for NBDHUB_STALL_SECONDS shows its transferring disks stalled (since its last report);
   * after NBDHUB_STALE_AFTER_SECONDS (else NBDHUB_STALL_FAIL_SECONDS) it fails as stale, unless
   * another ending has it.
   */
  async checkStale(): Promise<void> {
    const { db, config, log } = this.state.deps;
    const limit = config.staleAfterSeconds;
    const before = new Date(Date.now() - limit * 1000);
    try {
      await this.markStalled();
      const stale = await db.backupJob.findMany({
        where: { node: config.nodeName, mover: "external", status: "running", lastActivityAt: { lt: before } },
        select: { id: true },
      });
      for (const { id } of stale) {
        if (!this.state.active.has(id)) continue;
        const reason = `stale: the backup client reported nothing for ${limit} s`;
        this.control.beginEnding(id, "failing", { claimNow: false }, async () => {
          await this.control.stopWork(id);
          return { status: "failed", reason };
        });
      }
    } catch (error) {
      log.warn("stale check failed", { error: messageOf(error) });
    }
  }

  /** Transferring disks of external jobs silent for NBDHUB_STALL_SECONDS: stalled since the last report. */
  private async markStalled(): Promise<void> {
    const { db, config } = this.state.deps;
    const silent = await db.backupJob.findMany({
      where: {
        node: config.nodeName,
        mover: "external",
        status: "running",
        lastActivityAt: { lt: new Date(Date.now() - config.stallSeconds * 1000) },
        disks: { some: { status: "transferring", stalledSince: null } },
      },
      select: { id: true, lastActivityAt: true },
    });
    for (const job of silent) {
      if (!this.state.active.get(job.id)?.ready) continue;
      const where = { jobId: job.id, status: "transferring", stalledSince: null };
      await db.backupDisk.updateMany({ where, data: { stalledSince: job.lastActivityAt } });
      const since = job.lastActivityAt.toISOString();
      const message = `no report from the backup client since ${since} (stalled; fails after ${config.staleAfterSeconds} s)`;
      await this.state.events.record(job.id, "job.stalled", message, { level: "warn" });
      this.state.events.changed(job.id);
    }
  }

  /** The job a report names: an external job that no ending has yet (404, 409 otherwise). */
  private async externalJob(id: string) {
    const job = await this.state.deps.db.backupJob.findUnique({ where: { id }, include: DISKS_IN_ORDER });
    if (!job) throw notFound(`backup job ${id}`);
    const self = this.state.deps.config.nodeName;
    if (job.node !== self) throw otherNode(`backup job ${id}`, job.node, self);
    if (job.mover !== "external") {
      throw conflict("not_external", `job ${id} uses the built-in mover; only external jobs take reports`);
    }
    this.control.refuseIfEnding(id, job);
    return job;
  }
}
