// A node's status is computed when read, never stored: "lost" once its last heartbeat is older
// than the lease. Both times come from the database's clock, so nodes whose clocks disagree
// still agree on who is lost.
import type { NodeStatus } from "./types";

export function nodeStatus(lastSeenAt: Date, now: Date, leaseSeconds: number): NodeStatus {
  return now.getTime() - lastSeenAt.getTime() > leaseSeconds * 1000 ? "lost" : "up";
}
