// Retention and prune of a VM's restore points, for a policy, on THIS node: the preview (retention
// over the VM's completed, unpruned points, then the chain-aware plan; nothing runs) and the prune
// (the same plan, carried out by merge.ts). A policy prunes its VM's points, not only its own: like
// a PBS backup group, the VM's chain is one, and an incremental of one policy may stand on a full
// of another (decision 017). A node plans and touches only its own points (their files are in its
// repository; a chain never spans nodes, decision 032); retention counts the points of every live
// node, so a VM's newer points elsewhere let this node's older ones go, and a lost node's points
// count for nothing (they may never come back). prune-nodes.ts runs this on each node
// (decision 033). One prune per VM at a time, across server processes and nodes (a lease row),
// and never while a backup of the VM on this node is queued or running (its incremental stands
// on the newest point of its chain, on this node). Pruned points keep their job rows, marked
// `pruned_at`; their files are gone.
import "server-only";
import { randomBytes } from "node:crypto";
import type { AuditEntry } from "@/lib/auth/audit";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { conflict, isDomainError } from "@/lib/errors";
import { messageOf } from "@/lib/messages";
import { isNodeLost } from "@/lib/node/lost";
import type { Policy as PolicyRow } from "@/lib/generated/prisma/client";
import type { Logger } from "@/lib/log";
import { describeDiskFile, fileExists } from "./image-info";
import { runPlan } from "./merge";
import { protectedPoints } from "./protected";
import { planPrune, type ChainPoint, type PrunePlan } from "./prune-plan";
import { decideRetention } from "./retention";
import type { NodePrunePreview, PruneResult } from "./types";

export type PruneDeps = { db: Db; config: Config; log: Logger; audit: (entry: AuditEntry) => Promise<void> };

/** One node's prune: what it removed, merged and kept of its own points. */
export type PruneOutcome = Pick<PruneResult, "removed" | "merged"> & { kept: string[] };

/** Who holds a lease: this process (a random name per start). */
const HOLDER = `${process.pid}-${randomBytes(4).toString("hex")}`;
const LEASE_MS = 6 * 3_600_000;

type PointRow = {
  id: string;
  node: string;
  createdAt: Date;
  disks: { diskId: string; targetPath: string | null }[];
};

/** The VM's completed, unpruned points, newest first, on every node. */
async function vmPoints(db: Db, vmName: string): Promise<PointRow[]> {
  return db.backupJob.findMany({
    where: { vmName, status: "completed", prunedAt: null },
    orderBy: { createdAt: "desc" },
    select: {
      id: true,
      node: true,
      createdAt: true,
      disks: { select: { diskId: true, targetPath: true }, orderBy: { position: "asc" } },
    },
  });
}

/** The nodes among `names` that are lost (their heartbeat older than the lease). */
export async function lostNodesOf(db: Db, names: Iterable<string>, leaseSeconds: number): Promise<Set<string>> {
  const lost = new Set<string>();
  for (const name of new Set(names)) if (await isNodeLost(db, name, leaseSeconds)) lost.add(name);
  return lost;
}

const filesOf = (p: PointRow): string[] => p.disks.map((d) => d.targetPath).filter((f): f is string => !!f);

function keepsEverything(p: PolicyRow): boolean {
  return p.keepLast + p.keepDaily + p.keepWeekly + p.keepMonthly === 0;
}

/**
 * The plan for this node's points of the policy's VM as its files are now. Retention decides over
 * the points of every live node (this one always counts as live); the plan, and the files it
 * reads, are this node's only. `points` are this node's.
 */
async function planFor(db: Db, config: Config, policy: PolicyRow): Promise<{ plan: PrunePlan; points: PointRow[] }> {
  const me = config.nodeName;
  const all = await vmPoints(db, policy.vmName);
  const lost = await lostNodesOf(
    db,
    all.map((p) => p.node).filter((n) => n !== me),
    config.nodeLeaseSeconds,
  );
  const counted = all.filter((p) => !lost.has(p.node));
  const points = counted.filter((p) => p.node === me);
  const files = counted.map((p) => ({ jobId: p.id, files: filesOf(p) }));
  const rules = {
    keepLast: policy.keepLast,
    keepDaily: policy.keepDaily,
    keepWeekly: policy.keepWeekly,
    keepMonthly: policy.keepMonthly,
  };
  const decisions = decideRetention(
    counted.map((p) => ({ jobId: p.id, time: p.createdAt })),
    rules,
    {
      timeZone: policy.timezone,
      protected: await protectedPoints(db, policy.vmName, files),
    },
  );
  if (keepsEverything(policy)) {
    // Nothing goes: no file needs reading.
    const mine = new Set(points.map((p) => p.id));
    const keep = decisions.filter((d) => mine.has(d.jobId)).map((d) => ({ jobId: d.jobId, reasons: d.reasons }));
    return { plan: { steps: [], keep, remove: [], merged: [], finalFiles: [], removedFiles: [] }, points };
  }
  const chainPoints: ChainPoint[] = await Promise.all(
    points.map(async (p) => ({
      jobId: p.id,
      disks: await Promise.all(
        p.disks.filter((d) => d.targetPath).map((d) => describeDiskFile(d.diskId, d.targetPath as string)),
      ),
    })),
  );
  return { plan: planPrune(chainPoints, decisions), points };
}

/** This node's part of the preview (its points only). */
export async function prunePreview(db: Db, config: Config, policy: PolicyRow): Promise<NodePrunePreview> {
  const { plan } = await planFor(db, config, policy);
  return { keep: plan.keep, remove: plan.remove, merged: plan.merged };
}

async function takeLease(db: Db, vmName: string): Promise<boolean> {
  const until = new Date(Date.now() + LEASE_MS);
  const taken = await db.$executeRaw`
    INSERT INTO prune_leases (vm_name, holder, expires_at) VALUES (${vmName}, ${HOLDER}, ${until})
    ON CONFLICT (vm_name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
    WHERE prune_leases.expires_at < now()`;
  return taken === 1;
}

async function dropLease(db: Db, vmName: string): Promise<void> {
  await db.pruneLease.deleteMany({ where: { vmName, holder: HOLDER } });
}

/**
 * Why this node cannot prune the VM right now, or null: a backup of the VM on this node is queued
 * or running (an incremental stands on its chain's newest point, and its chain is on its node; a
 * job on another node reads and writes nothing here).
 */
async function busyReason(db: Db, vmName: string, node: string): Promise<string | null> {
  const active = await db.backupJob.findFirst({
    where: { vmName, node, status: { in: ["queued", "running"] } },
    select: { id: true },
  });
  return active ? `a backup of ${vmName} is under way on node "${node}" (job ${active.id})` : null;
}

/**
 * Points whose files are all gone are pruned: their rows stay, marked, and leave the restore
 * points. `points` are this node's only: another node's files are not here to look at.
 */
async function markPruned(db: Db, points: PointRow[], removed: string[]): Promise<string[]> {
  const done: string[] = [];
  for (const p of points.filter((pt) => removed.includes(pt.id))) {
    const left = await Promise.all(filesOf(p).map(fileExists));
    if (!left.some(Boolean)) done.push(p.id);
  }
  if (done.length) await db.backupJob.updateMany({ where: { id: { in: done } }, data: { prunedAt: new Date() } });
  return done;
}

/** A merge changes what a kept file stands on: the rows say what the files say. */
async function refreshBacking(db: Db, points: PointRow[], kept: string[]): Promise<void> {
  for (const p of points.filter((pt) => kept.includes(pt.id))) {
    for (const d of p.disks) {
      if (!d.targetPath || !(await fileExists(d.targetPath))) continue;
      const info = await describeDiskFile(d.diskId, d.targetPath);
      await db.backupDisk.updateMany({
        where: { jobId: p.id, diskId: d.diskId },
        data: { backingPath: info.backingFile },
      });
    }
  }
}

/**
 * Prune this node's points of the policy's VM now. `by` is who asked (a user, a token, or
 * `policy:<name>` after a run): it is logged; the caller writes the audit row (the route's own,
 * or the scheduler's). Refused with 409 `prune_busy` while a backup of the VM on this node runs
 * or another prune holds the VM;
 * `prune_failed` when a step could not be done (what was done is kept, and said).
 */
export async function prune(deps: PruneDeps, policy: PolicyRow, by: string): Promise<PruneOutcome> {
  const { db, config, log } = deps;
  const vm = policy.vmName;
  const busy = await busyReason(db, vm, config.nodeName);
  if (busy) throw conflict("prune_busy", `cannot prune now: ${busy}; try again when it ended`);
  if (!(await takeLease(db, vm))) throw conflict("prune_busy", `cannot prune now: another prune of ${vm} is under way`);
  try {
    const { plan, points } = await planFor(db, config, policy);
    const kept = plan.keep.map((k) => k.jobId);
    if (plan.remove.length === 0) {
      log.info("prune: nothing to remove", { vm, policy: policy.name, kept: kept.length, by });
      return { removed: [], merged: [], kept };
    }
    const run = await runPlan(plan, { reserveBytes: config.repositoryReserveBytes, log: log.child("merge") });
    const removed = await markPruned(
      db,
      points,
      plan.remove.map((r) => r.jobId),
    );
    const merged = plan.merged.filter((j) => removed.includes(j));
    await refreshBacking(db, points, kept);
    if (!run.complete) {
      const why = run.error?.message ?? "stopped before the end";
      log.error("prune stopped", { vm, policy: policy.name, error: why, removed: removed.join(","), by });
      throw conflict("prune_failed", `the prune of ${vm} stopped: ${why}`, { removed, merged });
    }
    log.info("pruned", { vm, policy: policy.name, removed: removed.join(","), merged: merged.join(","), by });
    return { removed, merged, kept };
  } catch (error) {
    if (!isDomainError(error)) log.error("prune failed", { vm, policy: policy.name, error: messageOf(error) });
    throw error;
  } finally {
    await dropLease(db, vm).catch(() => undefined);
  }
}
