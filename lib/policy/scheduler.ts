// The policy scheduler of one server process: every second, one cheap query (enabled policies
// whose next run is due); for each, the slot that is due (dueSlot: missed slots while the server
// was down get ONE catch-up run) is run once (run.ts: the slot's unique row decides which
// process runs it), and the policy's sinceAt / nextRunAt move on. Then, for runs whose job
// ended, the prune after the run (claimed by one process through the run's after_run_at), on
// every node holding points of the VM (prune-nodes.ts, decision 033).
import "server-only";
import { isDomainError } from "@/lib/errors";
import { messageOf } from "@/lib/messages";
import type { Policy as PolicyRow } from "@/lib/generated/prisma/client";
import type { PruneDeps } from "./prune";
import { backupUnderWay, previewOnNodes, pruneOnNodes, type AskNode, type PolicyPruneOutcome } from "./prune-nodes";
import { requesterOf, runNow, runSlot, settleInterruptedRuns, type RunDeps } from "./run";
import { dueSlot } from "./schedule";
import { nextRunOf, policyRow } from "./store";
import type { PrunePreview } from "./types";

export type SchedulerDeps = RunDeps & PruneDeps & { askNode: AskNode };

const TICK_MS = 1000;
const ENDED = ["completed", "failed", "cancelled"];
/** A run left `starting` this long is one a stopped process did not finish. */
const STUCK_STARTING_MS = 60_000;

export class PolicyScheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private failing = false;

  constructor(private readonly deps: SchedulerDeps) {}

  async start(): Promise<void> {
    const settled = await settleInterruptedRuns(this.deps.db, new Date(Date.now() - STUCK_STARTING_MS));
    if (settled) this.deps.log.warn(`settled ${settled} policy run(s) a stopped server left starting`);
    this.timer = setInterval(() => {
      if (!this.ticking) this.ticking = this.tick().finally(() => (this.ticking = undefined));
    }, TICK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
  }

  /** "Run now" (POST /policies/{id}/run): the new job's id. */
  async runNow(id: string, by: string): Promise<string> {
    return runNow(this.deps, await policyRow(this.deps.db, id), by);
  }

  async preview(id: string): Promise<PrunePreview> {
    return previewOnNodes(this.deps, this.deps.askNode, await policyRow(this.deps.db, id));
  }

  /** Prune on demand (POST /policies/{id}/prune), on each node; the route's own audit row records it. */
  async prune(id: string, by: string): Promise<PolicyPruneOutcome> {
    return pruneOnNodes(this.deps, this.deps.askNode, await policyRow(this.deps.db, id), by);
  }

  /** One pass: due slots, then the prunes after ended runs. */
  private async tick(): Promise<void> {
    try {
      const now = new Date();
      const due = await this.deps.db.policy.findMany({ where: { enabled: true, nextRunAt: { lte: now } } });
      for (const policy of due) {
        if (this.stopped) return;
        await this.handle(policy, now);
      }
      if (!this.stopped) await this.afterRuns();
      if (this.failing) this.deps.log.info("the policy scheduler works again");
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.deps.log.warn("policy scheduler pass failed", { error: messageOf(error).split("\n")[0] });
      this.failing = true;
    }
  }

  private async handle(policy: PolicyRow, now: Date): Promise<void> {
    const { db, log } = this.deps;
    let sinceAt = policy.sinceAt;
    try {
      const due = dueSlot(policy.schedule, policy.timezone, policy.sinceAt, now);
      if (due) {
        const count = `${due.skippedAtLeast ? "at least " : ""}${due.skipped}`;
        const missed = due.skipped > 0 ? `catch-up run: ${count} older slot(s) were missed while no server ran` : null;
        await runSlot(this.deps, policy, due.slot, missed);
        sinceAt = due.slot;
      }
    } catch (error) {
      log.error("policy slot could not be handled", { policy: policy.name, error: messageOf(error) });
    }
    // Guarded by the sinceAt read: a process that handled a later slot is not moved back.
    await db.policy.updateMany({
      where: { id: policy.id, sinceAt: { lte: sinceAt } },
      data: { sinceAt, nextRunAt: nextRunOf(policy, now) },
    });
  }

  /** The prune after each policy run whose job ended (completed or not), once, by one process. */
  private async afterRuns(): Promise<void> {
    const { db, log } = this.deps;
    const runs = await db.policyRun.findMany({
      where: { status: "started", afterRunAt: null, jobId: { not: null } },
      orderBy: { createdAt: "asc" },
      take: 20,
      include: { policy: true },
    });
    if (runs.length === 0) return;
    const jobs = await db.backupJob.findMany({
      where: { id: { in: runs.map((r) => r.jobId as string) }, status: { in: ENDED } },
      select: { id: true },
    });
    const ended = new Set(jobs.map((j) => j.id));
    for (const run of runs.filter((r) => ended.has(r.jobId as string))) {
      // Another backup of the VM (on any node) is under way: look again next pass.
      if (await backupUnderWay(db, run.policy.vmName)) continue;
      const claim = await db.policyRun.updateMany({
        where: { id: run.id, afterRunAt: null },
        data: { afterRunAt: new Date() },
      });
      if (claim.count === 0) continue;
      const actor = requesterOf(run.policy);
      const audit = (result: "allowed" | "failed", details: Record<string, unknown>) =>
        this.deps.audit({
          actor,
          action: "policy.prune",
          target: `vm:${run.policy.vmName}`,
          result,
          details: { policy: run.policy.id, afterJob: run.jobId, ...details },
        });
      try {
        const outcome = await pruneOnNodes(this.deps, this.deps.askNode, run.policy, actor);
        // A prune that removed nothing (the usual case under keep-everything) is logged, not audited.
        if (outcome.removed.length || outcome.skipped.length) await audit("allowed", outcome);
        // A node that became busy meanwhile: look again next pass (its part is not done).
        if (outcome.skipped.some((s) => s.code === "prune_busy")) {
          await db.policyRun.updateMany({ where: { id: run.id }, data: { afterRunAt: null } });
        }
      } catch (error) {
        if (isDomainError(error) && error.code !== "prune_busy") {
          await audit("failed", { error: error.message, ...(error.details ?? {}) });
        }
        if (isDomainError(error) && error.code === "prune_busy") {
          // Another backup of the VM (or a prune) is under way: look again next pass.
          await db.policyRun.updateMany({ where: { id: run.id }, data: { afterRunAt: null } });
        } else {
          const context = { policy: run.policy.name, job: run.jobId, error: messageOf(error) };
          log.warn("the prune after a policy run failed", context);
        }
      }
    }
  }
}
