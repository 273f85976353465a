// One run of a policy: a slot of its schedule, or "Run now". The run's row is inserted BEFORE
// its job exists: for a slot, the UNIQUE (policy_id, slot) key decides which server process
// runs it (the INSERT that wins; the others do nothing), so a slot runs once whatever restarts
// or processes there are. Then the winner decides: skipped (the previous run still going),
// or a job through the same admission path as POST /backups (full every `fullEvery`-th started
// run, else incremental; an incremental with nothing to build on becomes a full, saying why).
import "server-only";
import type { StartBackupInput } from "@/lib/backup/types";
import type { Db } from "@/lib/db/prisma";
import { conflict, hasCode } from "@/lib/errors";
import { messageOf } from "@/lib/messages";
import type { Policy as PolicyRow } from "@/lib/generated/prisma/client";
import type { Logger } from "@/lib/log";
import type { PolicyDisk } from "./types";

/** What a run needs of the backup runner: its create(), with the job's link to the policy. */
export type StartJob = (
  request: StartBackupInput,
  requestedBy: string,
  origin: { policyId: string },
) => Promise<{ id: string }>;

export type RunDeps = { db: Db; log: Logger; startJob: StartJob };

export type RunOutcome =
  | { status: "started"; jobId: string; type: "full" | "incremental"; reason: string | null }
  | { status: "skipped"; reason: string }
  | { status: "failed_to_start"; reason: string; error?: unknown }
  | { status: "lost" };

const ACTIVE = ["queued", "running"];

export const requesterOf = (policy: Pick<PolicyRow, "name">) => `policy:${policy.name}`;

/** The job of the policy's previous run that has not ended yet, if any. */
async function runningJob(db: Db, policyId: string): Promise<string | null> {
  const job = await db.backupJob.findFirst({ where: { policyId, status: { in: ACTIVE } }, select: { id: true } });
  return job?.id ?? null;
}

function requestOf(policy: PolicyRow, type: "full" | "incremental"): StartBackupInput {
  const disks = (policy.disks as PolicyDisk[]).map((d) => ({
    ...(d.diskId ? { diskId: d.diskId } : {}),
    source: d.source,
    ...(d.format ? { format: d.format } : {}),
    ...(d.dirtyBitmap ? { dirtyBitmap: d.dirtyBitmap } : {}),
  }));
  const limits = {
    ...(policy.maxRunSeconds ? { maxRunSeconds: policy.maxRunSeconds } : {}),
    ...(policy.retries ? { retries: policy.retries } : {}),
  };
  return { vmName: policy.vmName, type, mover: "builtin", disks, ...limits };
}

/** Full on the first run and every `fullEvery`-th started run after it. */
async function typeOf(db: Db, policy: PolicyRow): Promise<"full" | "incremental"> {
  const started = await db.policyRun.count({ where: { policyId: policy.id, status: "started" } });
  return started % Math.max(1, policy.fullEvery) === 0 ? "full" : "incremental";
}

async function startJob(deps: RunDeps, policy: PolicyRow): Promise<RunOutcome> {
  let type = await typeOf(deps.db, policy);
  let reason: string | null = null;
  const by = requesterOf(policy);
  try {
    const origin = { policyId: policy.id };
    const job = await deps.startJob(requestOf(policy, type), by, origin).catch(async (error: unknown) => {
      if (type !== "incremental" || !hasCode(error, "no_previous_backup")) throw error;
      type = "full";
      reason = "an incremental was due, but there is no previous backup of every disk to build on: a full instead";
      return deps.startJob(requestOf(policy, "full"), by, origin);
    });
    return { status: "started", jobId: job.id, type, reason };
  } catch (error) {
    return { status: "failed_to_start", reason: messageOf(error), error };
  }
}

/** Write the run's outcome on its row, and the policy's last run. */
async function settle(db: Db, runId: bigint, policy: PolicyRow, outcome: RunOutcome): Promise<void> {
  if (outcome.status === "lost") return;
  const started = outcome.status === "started";
  await db.policyRun.update({
    where: { id: runId },
    data: {
      status: outcome.status,
      reason: outcome.reason,
      jobId: started ? outcome.jobId : null,
      jobType: started ? outcome.type : null,
    },
  });
  if (started) {
    await db.policy.updateMany({ where: { id: policy.id }, data: { lastRunAt: new Date(), lastJobId: outcome.jobId } });
  }
}

const joined = (...parts: (string | null)[]) => parts.filter(Boolean).join("; ");

/**
 * Run one slot of the schedule, once: returns "lost" when another process (or an earlier pass)
 * has the slot. `note` says why this slot (a catch-up run for missed slots).
 */
export async function runSlot(deps: RunDeps, policy: PolicyRow, slot: Date, note: string | null): Promise<RunOutcome> {
  const { db, log } = deps;
  const inserted = await db.policyRun.createMany({
    data: [{ policyId: policy.id, slot, trigger: "schedule", status: "starting", reason: note }],
    skipDuplicates: true,
  });
  if (inserted.count === 0) return { status: "lost" };
  const row = await db.policyRun.findUniqueOrThrow({ where: { policyId_slot: { policyId: policy.id, slot } } });
  const busy = await runningJob(db, policy.id);
  const outcome: RunOutcome = busy
    ? { status: "skipped", reason: `the previous run (job ${busy}) is still going` }
    : await startJob(deps, policy);
  const withNote = outcome.status !== "lost" && note ? { ...outcome, reason: joined(note, outcome.reason) } : outcome;
  await settle(db, row.id, policy, withNote);
  const at = { policy: policy.name, slot: slot.toISOString() };
  if (withNote.status === "started") {
    log.info("policy run started", { ...at, job: withNote.jobId, type: withNote.type });
  } else if (withNote.status !== "lost") {
    log.warn(`policy slot ${withNote.status}`, { ...at, reason: withNote.reason });
  }
  return withNote;
}

/** "Run now": a run outside the schedule (no slot). 409 while the previous run is still going. */
export async function runNow(deps: RunDeps, policy: PolicyRow, by: string): Promise<string> {
  const { db } = deps;
  const busy = await runningJob(db, policy.id);
  if (busy) {
    const message = `the previous run of ${policy.name} (job ${busy}) is still going`;
    throw conflict("policy_running", message, { jobId: busy });
  }
  const row = await db.policyRun.create({
    data: { policyId: policy.id, trigger: "manual", status: "starting", reason: `run now by ${by}` },
  });
  const outcome = await startJob(deps, policy);
  const noted = outcome.status === "started" && outcome.reason;
  const settled = noted ? { ...outcome, reason: joined(`run now by ${by}`, outcome.reason) } : outcome;
  await settle(db, row.id, policy, settled);
  if (outcome.status === "started") return outcome.jobId;
  // The job was refused (a source gone, the repository full, …): the same answer as POST /backups.
  if (outcome.status === "failed_to_start" && outcome.error) throw outcome.error;
  throw conflict("policy_run_failed", "the run did not start");
}

/**
 * Runs left `starting` by a process that stopped between the slot's row and its job: the job,
 * if it was created, is linked (the slot ran); else the run failed to start.
 */
export async function settleInterruptedRuns(db: Db, olderThan: Date): Promise<number> {
  const stuck = await db.policyRun.findMany({ where: { status: "starting", createdAt: { lt: olderThan } } });
  for (const run of stuck) {
    const job = await db.backupJob.findFirst({
      where: { policyId: run.policyId, createdAt: { gte: run.createdAt } },
      orderBy: { createdAt: "asc" },
      select: { id: true, type: true },
    });
    await db.policyRun.updateMany({
      where: { id: run.id, status: "starting" },
      data: job
        ? { status: "started", jobId: job.id, jobType: job.type }
        : { status: "failed_to_start", reason: "interrupted by a server stop before its job was created" },
    });
  }
  return stuck.length;
}
