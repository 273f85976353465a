// Policies in Postgres: validate, create, read, change, delete. A schedule is checked by
// schedule.ts (each problem names its field), each source as POST /backups checks it, and
// nextRunAt is computed from the schedule whenever it or `enabled` changes.
import "server-only";
import { randomBytes } from "node:crypto";
import { inspectSource } from "@/lib/backup/source";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { prismaCode } from "@/lib/db/prisma-code";
import { conflict, invalidInput, isDomainError, notFound } from "@/lib/errors";
import type { Policy as PolicyRow, PolicyRun as RunRow } from "@/lib/generated/prisma/client";
import { mapLimited } from "@/lib/proc/limiter";
import { checkSchedule, nextRuns } from "./schedule";
import type { PolicyDisk, PolicyInput, PolicyPatch, PolicyRunView, PolicyView } from "./types";

type RunWithJob = RunRow & { jobStatus: string | null };

export function newPolicyId(): string {
  return `pol-${randomBytes(6).toString("hex")}`;
}

/** The schedule's problems as request details (`schedule`, `timezone`), or nothing. */
export function scheduleDetails(schedule: string, timezone: string): Record<string, string> {
  const check = checkSchedule(schedule, timezone);
  if (check.ok) return {};
  const details: Record<string, string> = {};
  for (const p of check.problems) {
    const key = p.field === "time zone" ? "timezone" : "schedule";
    details[key] = details[key] ? `${details[key]} ${p.message}` : p.message;
  }
  return details;
}

/** The next run after `from`, or null (a disabled policy has none). */
export function nextRunOf(row: Pick<PolicyRow, "schedule" | "timezone" | "enabled">, from: Date): Date | null {
  if (!row.enabled) return null;
  return nextRuns(row.schedule, row.timezone, from, 1)[0] ?? null;
}

async function checkDisks(config: Config, disks: PolicyDisk[]): Promise<Record<string, string>> {
  const details: Record<string, string> = {};
  await mapLimited(disks, 2, async (disk, i) => {
    try {
      await inspectSource(config, disk.source, `disks.${i}.source`, disk.format);
    } catch (error) {
      if (!isDomainError(error) || error.code === "busy") throw error;
      Object.assign(details, (error.details as Record<string, string>) ?? { [`disks.${i}.source`]: error.message });
    }
  });
  return details;
}

/** Refuse with every field's problem at once, or return. */
function refuseIf(details: Record<string, string>): void {
  if (Object.keys(details).length === 0) return;
  const message = Object.entries(details)
    .map(([k, v]) => `${k}: ${v}`)
    .join("; ");
  throw invalidInput(details, `the policy cannot be used: ${message}`);
}

async function validate(config: Config, input: PolicyInput): Promise<void> {
  refuseIf({ ...scheduleDetails(input.schedule, input.timezone), ...(await checkDisks(config, input.disks)) });
}

function retentionOf(row: PolicyRow): PolicyInput["retention"] {
  return { keepLast: row.keepLast, keepDaily: row.keepDaily, keepWeekly: row.keepWeekly, keepMonthly: row.keepMonthly };
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

export function runView(run: RunWithJob): PolicyRunView {
  return {
    at: run.createdAt.toISOString(),
    slot: iso(run.slot),
    trigger: run.trigger === "manual" ? "manual" : "schedule",
    status: run.status as PolicyRunView["status"],
    reason: run.reason,
    jobId: run.jobId,
    jobType: run.jobType,
    jobStatus: run.jobStatus,
  };
}

/** What a policy row says in the words a create or update takes (the view's editable part). */
function policyInputOf(row: PolicyRow): Required<PolicyInput> {
  return {
    name: row.name,
    vmName: row.vmName,
    disks: row.disks as PolicyDisk[],
    schedule: row.schedule,
    timezone: row.timezone,
    fullEvery: row.fullEvery,
    retention: retentionOf(row),
    enabled: row.enabled,
    maxRunSeconds: row.maxRunSeconds,
    retries: row.retries,
  };
}

export function policyView(row: PolicyRow, lastRun: RunWithJob | null): PolicyView {
  return {
    id: row.id,
    ...policyInputOf(row),
    nextRunAt: iso(row.nextRunAt),
    lastRunAt: iso(row.lastRunAt),
    lastJobId: row.lastJobId,
    lastRun: lastRun ? runView(lastRun) : null,
    createdAt: row.createdAt.toISOString(),
  };
}

/** The latest run of each policy, with its job's status. */
async function lastRuns(db: Db, policyIds: string[]): Promise<Map<string, RunWithJob>> {
  if (policyIds.length === 0) return new Map();
  const runs = await db.policyRun.findMany({
    where: { policyId: { in: policyIds } },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    distinct: ["policyId"],
  });
  const jobIds = runs.map((r) => r.jobId).filter((id): id is string => id !== null);
  const jobs = await db.backupJob.findMany({ where: { id: { in: jobIds } }, select: { id: true, status: true } });
  const status = new Map(jobs.map((j) => [j.id, j.status]));
  return new Map(runs.map((r) => [r.policyId, { ...r, jobStatus: r.jobId ? (status.get(r.jobId) ?? null) : null }]));
}

export async function listPolicies(db: Db): Promise<PolicyView[]> {
  const rows = await db.policy.findMany({ orderBy: { name: "asc" } });
  const last = await lastRuns(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => policyView(r, last.get(r.id) ?? null));
}

export async function policyRow(db: Db, id: string): Promise<PolicyRow> {
  const row = await db.policy.findUnique({ where: { id } });
  if (!row) throw notFound(`policy ${id}`);
  return row;
}

export async function getPolicy(db: Db, id: string): Promise<PolicyView> {
  const row = await policyRow(db, id);
  return policyView(row, (await lastRuns(db, [id])).get(id) ?? null);
}

/** The last runs of a policy, newest first. */
export async function policyRuns(db: Db, id: string, limit = 50): Promise<PolicyRunView[]> {
  await policyRow(db, id);
  const runs = await db.policyRun.findMany({
    where: { policyId: id },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit,
  });
  const jobIds = runs.map((r) => r.jobId).filter((j): j is string => j !== null);
  const jobs = await db.backupJob.findMany({ where: { id: { in: jobIds } }, select: { id: true, status: true } });
  const status = new Map(jobs.map((j) => [j.id, j.status]));
  return runs.map((r) => runView({ ...r, jobStatus: r.jobId ? (status.get(r.jobId) ?? null) : null }));
}

function columnsOf(input: PolicyInput) {
  return {
    name: input.name,
    vmName: input.vmName,
    disks: input.disks,
    schedule: input.schedule.trim().split(/\s+/).join(" "),
    timezone: input.timezone,
    fullEvery: input.fullEvery,
    keepLast: input.retention.keepLast,
    keepDaily: input.retention.keepDaily,
    keepWeekly: input.retention.keepWeekly,
    keepMonthly: input.retention.keepMonthly,
    enabled: input.enabled,
    maxRunSeconds: input.maxRunSeconds ?? null,
    retries: input.retries ?? null,
  };
}

function nameTaken(error: unknown, name: string): never {
  if (prismaCode(error) === "P2002") {
    throw conflict("policy_name_taken", `a policy named ${name} exists already`, { name: "taken" });
  }
  throw error;
}

export async function createPolicy(db: Db, config: Config, input: PolicyInput, by: string): Promise<PolicyView> {
  await validate(config, input);
  const now = new Date();
  const columns = columnsOf(input);
  const row = await db.policy
    .create({
      data: {
        id: newPolicyId(),
        ...columns,
        sinceAt: now,
        nextRunAt: nextRunOf(columns, now),
        createdBy: by,
        createdAt: now,
        updatedAt: now,
      },
    })
    .catch((error: unknown) => nameTaken(error, input.name));
  return policyView(row, null);
}

export async function updatePolicy(db: Db, config: Config, id: string, patch: PolicyPatch): Promise<PolicyView> {
  const row = await policyRow(db, id);
  const current = policyInputOf(row);
  const next: PolicyInput = { ...current, ...patch, retention: { ...current.retention, ...patch.retention } };
  // Sources are inspected again only when they change (an inspection reads each one).
  if (patch.disks) await validate(config, next);
  else refuseIf(scheduleDetails(next.schedule, next.timezone));
  const now = new Date();
  const columns = columnsOf(next);
  const timing =
    columns.schedule !== row.schedule || columns.timezone !== row.timezone || columns.enabled !== row.enabled;
  // Enabled again, or a new schedule: slots before now are not "missed", so no catch-up run.
  const sinceAt = timing ? now : row.sinceAt;
  const updated = await db.policy
    .update({
      where: { id },
      data: { ...columns, sinceAt, nextRunAt: timing ? nextRunOf(columns, now) : row.nextRunAt, updatedAt: now },
    })
    .catch((error: unknown) => nameTaken(error, next.name));
  return policyView(updated, (await lastRuns(db, [id])).get(id) ?? null);
}

export async function deletePolicy(db: Db, id: string): Promise<{ deleted: string }> {
  const { count } = await db.policy.deleteMany({ where: { id } });
  if (count === 0) throw notFound(`policy ${id}`);
  return { deleted: id };
}
