// A node that starts (again) reconciles before it takes new work (docs/decisions/031-lost-nodes.md):
// it holds its own advisory lock (the one the recovery of lost nodes takes, recovery.ts) from
// before it reconciles until its first heartbeat says it is up. Meanwhile no other node
// recovers it: a recovery under way finishes first (this waits for it), and one that comes
// later finds the node up. Its reconcile then meets the rows as the recovery left them (jobs
// failed, exports lost, ports released) and ends its orphan processes and removes their
// targets, or, when nobody recovered it, ends its interrupted jobs itself.
import "server-only";
import pg from "pg";
import { NODE_LOCK_CLASS } from "./recovery";

export type NodeLock = { release(): Promise<void> };

/** Take `node`'s advisory lock on a connection of its own (a session lock needs one). */
export async function holdNodeLock(databaseUrl: string, node: string): Promise<NodeLock> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: `nbdhub-rejoin-${node}` });
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1::int, hashtext($2))", [NODE_LOCK_CLASS, node]);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  let released: Promise<void> | undefined;
  return {
    release() {
      // Closing the session releases its lock.
      released ??= client.end().catch(() => undefined);
      return released;
    },
  };
}
