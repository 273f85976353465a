// The recovery of lost nodes (issue 18, docs/decisions/031-lost-nodes.md): a node whose heartbeat
// is older than the lease cannot end its own jobs, so a live node does it in the database, in one
// transaction per lost node: its queued and running jobs fail ("node lost: NAME"), with their
// unfinished disks; its active restores fail the same way; its live exports become `lost`; its
// port allocations are released. Nothing is signalled: a node only ever signals its own
// processes, and the lost node's own start ends them when it comes back (rejoin.ts).
//
// Exactly one live node recovers a lost node: the transaction holds the node's advisory lock
// (pg_try_advisory_xact_lock: a node already being recovered, or starting again, is skipped)
// and checks the lease again inside it; every UPDATE is guarded by the row's status, so a
// second pass finds nothing. The jobs it failed are returned for the runtime to re-queue.
import "server-only";
import type { Db } from "@/lib/db/prisma";

/** The advisory lock's first key: every lock of a node's name under it (hashtext of the name). */
export const NODE_LOCK_CLASS = 0x6e6f6465; // "node"

export const nodeLostReason = (name: string) => `node lost: ${name}`;

/** A job the recovery failed: what a re-queue needs to start it again elsewhere. */
export type LostJob = {
  id: string;
  vmName: string;
  type: string;
  mover: string;
  retries: number;
  maxRunSeconds: number | null;
  policyId: string | null;
  requestedBy: string | null;
  status: string;
};

export type Recovered = {
  node: string;
  jobs: LostJob[];
  restores: string[];
  exports: number[];
  ports: number[];
};

/** Lost nodes other than `self` that still have something live (jobs, restores, exports, ports). */
export async function lostNodesWithWork(db: Db, self: string, leaseSeconds: number): Promise<string[]> {
  const rows = await db.$queryRaw<{ name: string }[]>`
    SELECT n.name FROM nodes n
     WHERE n.name <> ${self}
       AND n.last_seen_at < now() - make_interval(secs => ${leaseSeconds}::int)
       AND (EXISTS (SELECT 1 FROM backup_jobs j WHERE j.node = n.name AND j.status IN ('queued', 'running'))
         OR EXISTS (SELECT 1 FROM restores r WHERE r.node = n.name AND r.status IN ('queued', 'running', 'ready'))
         OR EXISTS (SELECT 1 FROM nbd_exports e WHERE e.node = n.name AND e.status IN ('starting', 'ready', 'stopping'))
         OR EXISTS (SELECT 1 FROM port_allocations a WHERE a.node = n.name))
     ORDER BY n.name`;
  return rows.map((r) => r.name);
}

/**
 * Recover one lost node in one transaction; null when another node holds its lock (it is being
 * recovered, or is starting again) or it is no longer lost.
 */
export async function recoverNode(db: Db, name: string, leaseSeconds: number): Promise<Recovered | null> {
  const reason = nodeLostReason(name);
  return db.$transaction(async (tx) => {
    const [{ locked }] = await tx.$queryRaw<{ locked: boolean }[]>`
      SELECT pg_try_advisory_xact_lock(${NODE_LOCK_CLASS}::int, hashtext(${name})) AS locked`;
    if (!locked) return null;
    const still = await tx.$queryRaw<{ name: string }[]>`
      SELECT name FROM nodes WHERE name = ${name} AND last_seen_at < now() - make_interval(secs => ${leaseSeconds}::int)`;
    if (still.length === 0) return null;
    const jobs = await tx.$queryRaw<LostJob[]>`
      WITH lost AS (
        SELECT id, status AS was FROM backup_jobs WHERE node = ${name} AND status IN ('queued', 'running') FOR UPDATE
      )
      UPDATE backup_jobs j
         SET status = 'failed', error = ${reason}, finished_at = now(), last_activity_at = now(),
             ending = COALESCE(j.ending, 'failing'), ending_at = COALESCE(j.ending_at, now())
        FROM lost
       WHERE j.id = lost.id
      RETURNING j.id, j.vm_name AS "vmName", j.type, j.mover, j.retries, j.max_run_seconds AS "maxRunSeconds",
                j.policy_id AS "policyId", j.requested_by AS "requestedBy", lost.was AS status`;
    const ids = jobs.map((j) => j.id);
    if (ids.length > 0) {
      await tx.$executeRaw`
        UPDATE backup_disks SET status = 'failed', error = ${reason}, finished_at = now()
         WHERE job_id = ANY(${ids}::text[]) AND status NOT IN ('completed', 'failed', 'cancelled')`;
      await tx.$executeRaw`
        INSERT INTO job_events (job_id, level, kind, message)
        SELECT unnest(${ids}::text[]), 'error', 'job.failed', ${`${reason}: its heartbeat is older than the lease (${leaseSeconds} s); failed by another node`}`;
    }
    const restores = await tx.$queryRaw<{ id: string }[]>`
      UPDATE restores SET status = 'failed', error = ${reason}, finished_at = now()
       WHERE node = ${name} AND status IN ('queued', 'running', 'ready')
      RETURNING id`;
    if (restores.length > 0) {
      await tx.$executeRaw`
        UPDATE restore_disks SET status = 'failed', error = ${reason}, finished_at = now()
         WHERE restore_id = ANY(${restores.map((r) => r.id)}::text[])
           AND status NOT IN ('completed', 'failed', 'cancelled', 'expired')`;
    }
    const exports = await tx.$queryRaw<{ port: number }[]>`
      UPDATE nbd_exports SET status = 'lost', error = ${reason}, stopped_at = now()
       WHERE node = ${name} AND status IN ('starting', 'ready', 'stopping')
      RETURNING port`;
    const ports = await tx.$queryRaw<{ port: number }[]>`
      DELETE FROM port_allocations WHERE node = ${name} RETURNING port`;
    return {
      node: name,
      jobs,
      restores: restores.map((r) => r.id),
      exports: exports.map((e) => e.port).sort((a, b) => a - b),
      ports: ports.map((p) => p.port).sort((a, b) => a - b),
    };
  });
}
