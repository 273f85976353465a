// The port pool's statements, one round trip each and no transaction around them
// (docs/decisions/023-port-claims.md). A claim locks the lowest free slots of port_slots with
// FOR UPDATE SKIP LOCKED and inserts their allocations in the same statement: concurrent claims
// (and other server processes on the database) skip each other's slots instead of queueing on
// a pool-wide lock. port_allocations' primary key still decides: a claim whose snapshot missed
// an allocation committed a moment earlier gets nothing for that port (ON CONFLICT DO NOTHING)
// and says so, and its caller claims again. Shared with bench/fig4-allocation.ts, whose SQL
// baseline runs the very same statements. Every statement is a node's own: ports are keyed by
// (node, port) and two nodes may hold the same number (docs/decisions/026-nodes.md).
import { Prisma } from "@/lib/generated/prisma/client";

/** Statuses of nbd_exports rows whose qemu-nbd is (or may be) running. */
export const LIVE_STATUSES = ["starting", "ready", "stopping"] as const;

const LIVE = Prisma.raw(LIVE_STATUSES.map((s) => `'${s}'`).join(", "));

export type ClaimRequest = {
  /** The node whose slots are claimed (this server's, NBDHUB_NODE_NAME). */
  node: string;
  range: { min: number; max: number };
  /** How many ports, all or none. */
  count: number;
  /** Ports not to take (the caller's skip list, ports found held by other programs). */
  skip: number[];
  jobId: string;
  vmName: string;
  /** `exportNames[i]` labels the i-th port claimed (in port order); `fallbackName` the rest. */
  exportNames: string[];
  fallbackName: string;
};

/**
 * One row per slot the claim locked, in port order: `jobId` etc. are null for a port whose
 * allocation another claim committed after this statement's snapshot (lost, claim again).
 * Fewer rows than `count` means fewer free ports: nothing was inserted.
 */
export type ClaimRow = {
  port: number;
  jobId: string | null;
  vmName: string | null;
  exportName: string | null;
  allocatedAt: Date | null;
};

export function claimPorts(req: ClaimRequest): Prisma.Sql {
  const { min, max } = req.range;
  return Prisma.sql`
    WITH pick AS (
      SELECT s.port FROM port_slots s
       WHERE s.node = ${req.node} AND s.port BETWEEN ${min}::int AND ${max}::int AND s.port <> ALL(${req.skip}::int[])
         AND NOT EXISTS (SELECT 1 FROM port_allocations a WHERE a.node = s.node AND a.port = s.port)
       ORDER BY s.port LIMIT ${req.count}::int
         FOR UPDATE OF s SKIP LOCKED
    ), taken AS (
      INSERT INTO port_allocations (node, port, job_id, vm_name, export_name)
      SELECT ${req.node}, port, ${req.jobId}, ${req.vmName},
             coalesce((${req.exportNames}::text[])[row_number() OVER (ORDER BY port)], ${req.fallbackName})
        FROM pick
       WHERE (SELECT count(*) FROM pick) = ${req.count}::int
      ON CONFLICT (node, port) DO NOTHING
      RETURNING port, job_id, vm_name, export_name, allocated_at
    )
    SELECT p.port, t.job_id AS "jobId", t.vm_name AS "vmName", t.export_name AS "exportName",
           t.allocated_at AS "allocatedAt"
      FROM pick p LEFT JOIN taken t ON t.port = p.port
     ORDER BY p.port`;
}

/** `exported`: a live export runs on the port (nothing deleted); `released`: the allocation was deleted. */
export type ReleaseRow = { exported: boolean; released: boolean };

/** Release one port of `node` unless a live export (an nbd_exports row not yet ended) runs on it. */
export function releaseIfIdle(node: string, port: number): Prisma.Sql {
  return Prisma.sql`
    WITH live AS (
      SELECT 1 FROM nbd_exports WHERE node = ${node} AND port = ${port}::int AND status IN (${LIVE}) LIMIT 1
    ), gone AS (
      DELETE FROM port_allocations WHERE node = ${node} AND port = ${port}::int AND NOT EXISTS (SELECT 1 FROM live)
      RETURNING port
    )
    SELECT EXISTS (SELECT 1 FROM live) AS exported, EXISTS (SELECT 1 FROM gone) AS released`;
}

/** Ports (ascending) with a live export, and ports released: all of the job's, or none when any is exported. */
export type ReleaseJobRow = { exported: number[]; released: number[] };

export function releaseJobIfIdle(node: string, jobId: string): Prisma.Sql {
  return Prisma.sql`
    WITH live AS (
      SELECT DISTINCT e.port FROM nbd_exports e JOIN port_allocations a ON a.node = e.node AND a.port = e.port
       WHERE a.node = ${node} AND a.job_id = ${jobId} AND e.status IN (${LIVE})
    ), gone AS (
      DELETE FROM port_allocations WHERE node = ${node} AND job_id = ${jobId} AND NOT EXISTS (SELECT 1 FROM live)
      RETURNING port
    )
    SELECT coalesce((SELECT array_agg(port ORDER BY port) FROM live), '{}')::int[] AS exported,
           coalesce((SELECT array_agg(port ORDER BY port) FROM gone), '{}')::int[] AS released`;
}
