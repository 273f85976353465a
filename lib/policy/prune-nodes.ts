// The prune of a policy over every node that holds points of its VM (issue 18, decision 033).
// Each node prunes only its own points (prune.ts): the answering node does its part itself and
// asks the others, one after another, through the control channel (decision 030, actions
// `policy.prune` and `policy.prunePreview`). A lost node is not asked: its points are left alone
// and the answer says so in `skipped`, as it does for a node that refused (busy) or did not
// answer. When no node could do its part, the first refusal is the answer (a lone hub answers
// 409 prune_busy or prune_failed as before).
import "server-only";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { isDomainError } from "@/lib/errors";
import type { Policy as PolicyRow } from "@/lib/generated/prisma/client";
import { firstLineOf, messageOf } from "@/lib/messages";
import { isNodeLost, nodeLost } from "@/lib/node/lost";
import { policyRow } from "./store";
import { lostNodesOf, prune, prunePreview, type PruneDeps, type PruneOutcome } from "./prune";
import type { NodePrunePreview, PrunePreview, PruneSkipped } from "./types";

/** Ask another node to run an action (the control channel's ask), waiting up to `timeoutMs`. */
export type AskNode = (node: string, action: string, args: unknown, timeoutMs: number) => Promise<unknown>;

/** A prune merges files: it may take long. A preview reads each file's header. */
const PRUNE_ANSWER_MS = 3_600_000;
const PREVIEW_ANSWER_MS = 120_000;
/** While waiting that long, how often the asked node's heartbeat is read (a lost node never answers). */
const WATCH_MS = 2_000;

/** `ask`, given up with 409 node_lost as soon as the asked node is lost (not after the whole wait). */
async function askWhileAlive(
  deps: PruneDeps,
  ask: AskNode,
  node: string,
  action: string,
  args: unknown,
  timeoutMs: number,
): Promise<unknown> {
  const lease = deps.config.nodeLeaseSeconds;
  let watch: NodeJS.Timeout | undefined;
  const lost = new Promise<never>((_, reject) => {
    watch = setInterval(() => {
      isNodeLost(deps.db, node, lease).then(
        (gone) => gone && reject(nodeLost(node, lease)),
        () => undefined,
      );
    }, WATCH_MS);
  });
  try {
    return await Promise.race([ask(node, action, args, timeoutMs), lost]);
  } finally {
    clearInterval(watch);
  }
}

export type PolicyPruneOutcome = PruneOutcome & { skipped: PruneSkipped[] };

/** What this node runs when another asks (merged into the control channel's handlers). */
export function pruneHandlers(deps: PruneDeps) {
  return {
    "policy.prune": async (a: { policyId: string; by: string }): Promise<PruneOutcome> =>
      prune(deps, await policyRow(deps.db, a.policyId), a.by),
    "policy.prunePreview": async (a: { policyId: string }): Promise<NodePrunePreview> =>
      prunePreview(deps.db, deps.config, await policyRow(deps.db, a.policyId)),
  };
}

/**
 * True while a backup of the VM is queued or running on any node. The prune after a run waits
 * for that (a cheap read each pass) instead of pruning the idle nodes again every pass while
 * one is busy; an on-demand prune does each idle node's part at once.
 */
export async function backupUnderWay(db: Db, vmName: string): Promise<boolean> {
  const active = await db.backupJob.findFirst({
    where: { vmName, status: { in: ["queued", "running"] } },
    select: { id: true },
  });
  return active !== null;
}

/** The nodes holding completed, unpruned points of the VM: this node first, then by name. */
async function nodesWithPoints(db: Db, vmName: string, me: string): Promise<string[]> {
  const rows = await db.backupJob.findMany({
    where: { vmName, status: "completed", prunedAt: null },
    distinct: ["node"],
    select: { node: true },
  });
  return rows.map((r) => r.node).sort((x, y) => (x === me ? -1 : y === me ? 1 : x.localeCompare(y)));
}

const skippedOf = (node: string, error: unknown): PruneSkipped =>
  isDomainError(error)
    ? { node, code: error.code, reason: error.message }
    : { node, code: "node_error", reason: firstLineOf(messageOf(error)) };

/** Run `part` on each node holding points (lost ones skipped); the parts done and the skipped nodes. */
async function onEachNode<T>(
  db: Db,
  config: Config,
  policy: PolicyRow,
  part: (node: string) => Promise<T>,
): Promise<{ done: { node: string; value: T }[]; skipped: PruneSkipped[]; errors: unknown[] }> {
  const me = config.nodeName;
  const nodes = await nodesWithPoints(db, policy.vmName, me);
  const lost = await lostNodesOf(
    db,
    nodes.filter((n) => n !== me),
    config.nodeLeaseSeconds,
  );
  const done: { node: string; value: T }[] = [];
  const skipped: PruneSkipped[] = [];
  const errors: unknown[] = [];
  for (const node of nodes) {
    if (lost.has(node)) {
      skipped.push({
        node,
        code: "node_lost",
        reason: `node "${node}" is lost (no heartbeat for more than ${config.nodeLeaseSeconds} s): its points are left alone and count for nothing in retention`,
      });
      continue;
    }
    try {
      done.push({ node, value: await part(node) });
    } catch (error) {
      errors.push(error);
      skipped.push(skippedOf(node, error));
    }
  }
  // Nothing done and something refused: that refusal is the answer (409 prune_busy, ...).
  if (done.length === 0 && errors.length > 0) throw errors[0];
  return { done, skipped, errors };
}

export async function previewOnNodes(deps: PruneDeps, ask: AskNode, policy: PolicyRow): Promise<PrunePreview> {
  const me = deps.config.nodeName;
  const { done, skipped } = await onEachNode(deps.db, deps.config, policy, async (node) =>
    node === me
      ? prunePreview(deps.db, deps.config, policy)
      : ((await askWhileAlive(
          deps,
          ask,
          node,
          "policy.prunePreview",
          { policyId: policy.id },
          PREVIEW_ANSWER_MS,
        )) as NodePrunePreview),
  );
  return {
    keep: done.flatMap(({ node, value }) => value.keep.map((k) => ({ ...k, node }))),
    remove: done.flatMap(({ node, value }) => value.remove.map((r) => ({ ...r, node }))),
    merged: done.flatMap(({ value }) => value.merged),
    skipped,
  };
}

export async function pruneOnNodes(
  deps: PruneDeps,
  ask: AskNode,
  policy: PolicyRow,
  by: string,
): Promise<PolicyPruneOutcome> {
  const me = deps.config.nodeName;
  const { done, skipped, errors } = await onEachNode(deps.db, deps.config, policy, async (node) =>
    node === me
      ? prune(deps, policy, by)
      : ((await askWhileAlive(
          deps,
          ask,
          node,
          "policy.prune",
          { policyId: policy.id, by },
          PRUNE_ANSWER_MS,
        )) as PruneOutcome),
  );
  // A node's prune that stopped part-way says what it did remove.
  const partial = errors.map((e) =>
    isDomainError(e) ? ((e.details ?? {}) as { removed?: string[]; merged?: string[] }) : {},
  );
  const outcome = {
    removed: [...done.flatMap(({ value }) => value.removed), ...partial.flatMap((p) => p.removed ?? [])],
    merged: [...done.flatMap(({ value }) => value.merged), ...partial.flatMap((p) => p.merged ?? [])],
    kept: done.flatMap(({ value }) => value.kept),
    skipped,
  };
  if (skipped.length) deps.log.warn("prune: some nodes' points were left alone", { vm: policy.vmName, by, skipped });
  return outcome;
}
