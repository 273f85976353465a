// Rows written before nodes existed (a single hub upgraded by migration 20261206000100_nodes)
// carry the empty node ''. The first node to start claims them all in one statement, before it
// reconciles, so its reconcile adopts or ends them as its own; every later start finds none.
// The upgraded hub's old pool row and slots go: configure() wrote the node's own already (a
// data-modifying WITH runs to completion whether or not the query reads it).
import "server-only";
import type { Db } from "@/lib/db/prisma";

export type Claimed = { allocations: number; exports: number; jobs: number; restores: number };

export async function claimUnownedRows(db: Db, node: string): Promise<Claimed> {
  const [row] = await db.$queryRaw<Claimed[]>`
    WITH pool AS (DELETE FROM port_pool WHERE node = ''),
         slots AS (DELETE FROM port_slots WHERE node = ''),
         alloc AS (UPDATE port_allocations SET node = ${node} WHERE node = '' RETURNING 1),
         exps AS (UPDATE nbd_exports SET node = ${node} WHERE node = '' RETURNING 1),
         jobs AS (UPDATE backup_jobs SET node = ${node} WHERE node = '' RETURNING 1),
         rest AS (UPDATE restores SET node = ${node} WHERE node = '' RETURNING 1),
         -- The upgraded hub's pool history (migration 20261206000200): kept, not counted.
         samples AS (UPDATE pool_samples SET node = ${node} WHERE node = '')
    SELECT (SELECT count(*) FROM alloc)::int AS allocations, (SELECT count(*) FROM exps)::int AS exports,
           (SELECT count(*) FROM jobs)::int AS jobs, (SELECT count(*) FROM rest)::int AS restores`;
  return row;
}
