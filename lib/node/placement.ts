// Where a new backup runs (issue 18, docs/decisions/032-placement.md), as pure logic: on a live
// node with free ports and repository space, the answering node when it qualifies, else the
// least loaded that does. When none qualifies the least loaded live node takes it (it queues
// there until ports are free, or refuses it for space as a single hub would: 507).
import type { NodeStatus } from "./types";

export type Candidate = {
  name: string;
  status: NodeStatus;
  /** Ports neither allocated nor wanted by the node's queued jobs. */
  freePorts: number;
  /** The repository's free bytes at the node's last heartbeat; null: unknown (not counted against it). */
  freeBytes: number | null;
  /** Its queued and running jobs. */
  load: number;
};

export type Need = { ports: number; bytes: number };

export function qualifies(c: Candidate, need: Need): boolean {
  return c.status === "up" && c.freePorts >= need.ports && (c.freeBytes === null || c.freeBytes >= need.bytes);
}

/** Fewest jobs first, then most free ports, then by name (the same answer on every node). */
function byLoad(a: Candidate, b: Candidate): number {
  return a.load - b.load || b.freePorts - a.freePorts || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** The node for a new job; null only when no node is up. */
export function chooseNode(candidates: Candidate[], self: string, need: Need): string | null {
  const live = candidates.filter((c) => c.status === "up");
  const me = live.find((c) => c.name === self);
  if (me && qualifies(me, need)) return self;
  const fit = live.filter((c) => qualifies(c, need)).sort(byLoad);
  if (fit.length > 0) return fit[0].name;
  return [...live].sort(byLoad)[0]?.name ?? null;
}
