// Where POST /backups and POST /restores run (issue 18, docs/decisions/032-placement.md), and
// handing them to that node. A pinned `node` must exist (else 422) and be up (else 409
// node_lost). An incremental goes to the node of its VM's last point (its chain is in that
// node's repository), a restore to its point's node. Any other backup is placed by
// lib/node/placement.ts. The chosen node runs the request with its own code (the checks,
// admission and answer of a local request) when asked through Postgres (decision 030).
import "server-only";
import type { StartBackupInput } from "@/lib/backup/types";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { conflict, invalidInput } from "@/lib/errors";
import { readCandidates } from "@/lib/node/capacity";
import { isNodeLost, nodeLost } from "@/lib/node/lost";
import { chooseNode } from "@/lib/node/placement";
import type { StartRestoreInput } from "@/lib/restore/types";

/** A view small enough to travel back whole (else the requester reads it by id). */
const WHOLE_ANSWER_CHARS = 6000;

export function compactAnswer<T extends { id: string }>(view: T): T | { id: string } {
  return JSON.stringify(view).length <= WHOLE_ANSWER_CHARS ? view : { id: view.id };
}

/** True when the answer is the whole view (it has disks), not just the id. */
export function isWhole<T>(answer: unknown): answer is T {
  return typeof answer === "object" && answer !== null && "disks" in answer;
}

/** A pinned node: it exists (422 otherwise) and is up (409 node_lost otherwise). */
async function pinned(db: Db, config: Config, node: string): Promise<string> {
  const row = await db.node.findUnique({ where: { name: node }, select: { name: true } });
  if (!row) throw invalidInput({ node: "the name of a node (GET /nodes)" }, `there is no node "${node}"`);
  if (await isNodeLost(db, node, config.nodeLeaseSeconds)) throw nodeLost(node, config.nodeLeaseSeconds);
  return node;
}

async function upOrRefuse(db: Db, config: Config, node: string): Promise<string> {
  if (node !== config.nodeName && (await isNodeLost(db, node, config.nodeLeaseSeconds)))
    throw nodeLost(node, config.nodeLeaseSeconds);
  return node;
}

export async function placeBackup(
  db: Db,
  config: Config,
  request: StartBackupInput,
  node: string | undefined,
): Promise<string> {
  if (node) return pinned(db, config, node);
  if (request.type === "incremental") {
    const last = await db.backupJob.findFirst({
      where: { vmName: request.vmName, status: "completed", prunedAt: null },
      orderBy: { createdAt: "desc" },
      select: { node: true },
    });
    // No point yet: the job is placed as any other (its node's create says what it does then).
    if (last) return upOrRefuse(db, config, last.node);
  }
  const bytes = request.mover === "external" ? request.disks.reduce((sum, d) => sum + d.sizeBytes, 0) : 0;
  const candidates = await readCandidates(db, config.nodeLeaseSeconds);
  return chooseNode(candidates, config.nodeName, { ports: request.disks.length, bytes }) ?? config.nodeName;
}

export async function placeRestore(
  db: Db,
  config: Config,
  request: StartRestoreInput,
  node: string | undefined,
): Promise<string> {
  const point = await db.backupJob.findUnique({ where: { id: request.jobId }, select: { node: true } });
  if (node) {
    await pinned(db, config, node);
    if (point && point.node !== node)
      throw conflict(
        "point_elsewhere",
        `restore point ${request.jobId} is in node "${point.node}"'s repository, not node "${node}"'s`,
        { node: point.node },
      );
  }
  // An unknown point: the local create answers 404.
  return point ? upOrRefuse(db, config, point.node) : config.nodeName;
}
