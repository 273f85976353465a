// Whether a node is lost (its heartbeat older than the lease, on the database's clock): a request
// for a lost node's things is not sent to it (nobody would answer) but refused, 409 node_lost;
// the recovery of lost nodes ends its jobs (docs/decisions/030-cross-node-control.md).
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { conflict } from "@/lib/errors";
import { nodeStatus } from "./status";

/** True when `name` has no row or its heartbeat is older than the lease. */
export async function isNodeLost(db: Db, name: string, leaseSeconds: number): Promise<boolean> {
  const rows = await db.$queryRaw<{ lastSeenAt: Date; now: Date }[]>`
    SELECT last_seen_at AS "lastSeenAt", now() AS now FROM nodes WHERE name = ${name}`;
  return rows.length === 0 || nodeStatus(rows[0].lastSeenAt, rows[0].now, leaseSeconds) === "lost";
}

export const nodeLost = (name: string, leaseSeconds: number) =>
  conflict(
    "node_lost",
    `node "${name}" is lost (no heartbeat for more than ${leaseSeconds} s): it cannot act now; ` +
      'the live nodes fail its jobs ("node lost") and mark its exports lost',
    { node: name },
  );

/** 409 node_lost when `name` is lost. */
export async function refuseLostNode(db: Db, name: string, leaseSeconds: number): Promise<void> {
  if (await isNodeLost(db, name, leaseSeconds)) throw nodeLost(name, leaseSeconds);
}
