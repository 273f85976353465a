// The chain-aware prune plan: from the points of one VM (per disk: its qcow2 file and the file
// it stands on) and the retention decision, the steps that remove the points retention let go
// while every kept point stays restorable with the same guest view. Pure: it reads nothing;
// lib/policy/merge.ts carries the steps out. The semantics and the qemu 7.2 limits are in
// docs/decisions/014-retention-and-prune.md.
//
// Per disk, files form chains (full <- incremental <- ...). For each kept file whose backing
// file is removed, the removed files between it and its nearest kept ancestor (none for a
// chain that starts with a removed full) are a "segment" to merge:
// - `commit` (the segment starts with a full, each of its files has no other child, all in
//   the kept file's folder): `qemu-img commit -b FULL KEPT` writes the kept point's data (and
//   the segment's) into the removed full, which is compared with the kept file and then renamed
//   over it. Only the small incrementals are copied, not the full disk.
// - `rebase` otherwise (the usual case): a copy of the kept file is rebased (safe mode) onto
//   the nearest kept ancestor, or onto nothing ("-b ''") when the chain started with a removed
//   full, compared with the kept file through its old chain, and renamed over it.
// Removed files no kept file stands on (a chain's tail, a whole chain) are simply deleted,
// first, which frees space for the merges; merged files are deleted after the merges.
// A merge is refused where qemu 7.2 is not safe (a disk whose size changed along the chain):
// those points are kept instead, on every disk, and say why.
import path from "node:path";
import type { RetentionDecision } from "./retention";

export type PointDiskFile = {
  diskId: string;
  /** Absolute path of this point's qcow2 file for the disk. */
  file: string;
  /** Absolute path of the file it stands on (the previous point's), or null for a full. */
  backingFile: string | null;
  /** The disk's size as the guest sees it (qemu-img info's virtual-size). */
  virtualSize: number;
};

export type ChainPoint = { jobId: string; disks: PointDiskFile[] };

/** What a step expects of a file: gone, or present and standing on `backing` (null: standalone). */
export type FileState = { file: string; exists: false } | { file: string; exists: true; backing: string | null };

type StepBase = {
  /** The point whose file the step changes (a kept point for a merge, a removed one for a delete). */
  jobId: string;
  diskId: string;
  /** The files' states before the step and after it: the executor skips a step already done. */
  before: FileState[];
  after: FileState[];
};

export type DeleteStep = StepBase & {
  kind: "delete";
  file: string;
  /** Kept files that stood on this file: the executor checks none of them still does. */
  guards: string[];
};

export type RebaseStep = StepBase & {
  kind: "rebase";
  child: string;
  oldBacking: string;
  /** null: the child becomes standalone (it absorbs a removed full). */
  newBacking: string | null;
  /** Where the rebased copy is made before it replaces the child (same folder). */
  temp: string;
  /** The removed files whose data the child absorbs, nearest first. */
  absorbs: string[];
  /** Their points. */
  absorbsJobs: string[];
};

export type CommitStep = StepBase & {
  kind: "commit";
  /** The kept file whose guest view is committed into `base`, which then replaces it. */
  top: string;
  /** The removed full at the bottom of the segment. */
  base: string;
  /** The removed files between base and top, nearest the top first (deleted afterwards). */
  intermediates: string[];
  absorbsJobs: string[];
};

export type MergeStep = RebaseStep | CommitStep;
export type PruneStep = DeleteStep | MergeStep;

export type PrunePlan = {
  steps: PruneStep[];
  keep: Array<{ jobId: string; reasons: string[] }>;
  remove: Array<{ jobId: string; reason: string }>;
  /** Removed points whose data went into a kept point (merged), not just deleted. */
  merged: string[];
  /** Every file of the VM once the plan has run: the kept points' files, and nothing else of the input. */
  finalFiles: string[];
  /** Files the plan deletes (or replaces a kept file with: a commit's base). */
  removedFiles: string[];
};

export type PrunePlanOptions = {
  /** Use `qemu-img commit` where it is safe (default true); false: rebase only. */
  allowCommit?: boolean;
};

export const TEMP_SUFFIX = ".prune-tmp";

type Node = {
  jobId: string;
  diskId: string;
  file: string;
  backing: string | null;
  size: number;
  children: Node[];
};

type Segment = {
  kept: Node;
  /** Removed files from the kept file's backing down to (excluding) the kept ancestor. */
  removed: Node[];
  /** The nearest kept ancestor, or null when the chain starts within the segment. */
  ancestor: Node | null;
};

type DiskGraph = { diskId: string; nodes: Map<string, Node> };

function graphsOf(points: readonly ChainPoint[]): DiskGraph[] {
  const byDisk = new Map<string, Map<string, Node>>();
  const seenFiles = new Set<string>();
  for (const point of points) {
    const diskIds = new Set<string>();
    for (const disk of point.disks) {
      if (!path.isAbsolute(disk.file) || (disk.backingFile !== null && !path.isAbsolute(disk.backingFile))) {
        throw new RangeError(`the files of point ${point.jobId} must be absolute paths`);
      }
      if (diskIds.has(disk.diskId)) throw new RangeError(`point ${point.jobId} lists disk ${disk.diskId} twice`);
      if (seenFiles.has(disk.file)) throw new RangeError(`the file ${disk.file} belongs to two points`);
      if (!Number.isSafeInteger(disk.virtualSize) || disk.virtualSize <= 0) {
        throw new RangeError(`disk ${disk.diskId} of point ${point.jobId} has no valid size`);
      }
      diskIds.add(disk.diskId);
      seenFiles.add(disk.file);
      const nodes = byDisk.get(disk.diskId) ?? new Map<string, Node>();
      byDisk.set(disk.diskId, nodes);
      nodes.set(disk.file, {
        jobId: point.jobId,
        diskId: disk.diskId,
        file: disk.file,
        backing: disk.backingFile,
        size: disk.virtualSize,
        children: [],
      });
    }
  }
  for (const nodes of byDisk.values()) {
    for (const node of nodes.values()) {
      if (node.backing === null) continue;
      const parent = nodes.get(node.backing);
      if (parent) parent.children.push(node);
    }
    // A loop in the chain would make every walk below endless: refuse it.
    for (const node of nodes.values()) {
      const seen = new Set<string>();
      for (let n: Node | undefined = node; n; n = n.backing ? nodes.get(n.backing) : undefined) {
        if (seen.has(n.file)) throw new RangeError(`the backing chain of ${node.file} loops`);
        seen.add(n.file);
      }
    }
  }
  return [...byDisk.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([diskId, nodes]) => ({ diskId, nodes }));
}

function segmentsOf(graph: DiskGraph, removedJobs: ReadonlySet<string>): Segment[] {
  const segments: Segment[] = [];
  for (const node of graph.nodes.values()) {
    if (removedJobs.has(node.jobId)) continue;
    const removed: Node[] = [];
    let ancestor: Node | null = null;
    for (let backing = node.backing; backing !== null;) {
      const parent = graph.nodes.get(backing);
      if (!parent) {
        // A file outside the plan (another tool's base, say): never touched, so it counts as kept.
        ancestor = externalNode(backing, graph.diskId);
        break;
      }
      if (!removedJobs.has(parent.jobId)) {
        ancestor = parent;
        break;
      }
      removed.push(parent);
      backing = parent.backing;
    }
    if (removed.length > 0) segments.push({ kept: node, removed, ancestor });
  }
  return segments;
}

/** A backing file the plan was not given (another tool's base, say): kept and never changed. */
function externalNode(file: string, diskId: string): Node {
  return { jobId: "", diskId, file, backing: null, size: -1, children: [] };
}

/** Why a segment cannot be merged safely on qemu 7.2, or null. */
function mergeRefusal(segment: Segment): string | null {
  const { kept, removed, ancestor } = segment;
  if (ancestor && ancestor.jobId === "") {
    return (
      `its chain on disk ${kept.diskId} stands on ${ancestor.file}, a file outside this VM's points, ` +
      "whose size cannot be checked"
    );
  }
  const chain = [kept, ...removed, ...(ancestor ? [ancestor] : [])];
  const sizes = new Set(chain.map((n) => n.size));
  if (sizes.size > 1) {
    const [from, to] = [Math.min(...sizes), Math.max(...sizes)];
    return (
      `disk ${kept.diskId} changed size along the chain (${from} to ${to} bytes): a qemu-img rebase ` +
      "of an image larger than its old backing file can loop for ever on qemu 7.2, so it is not merged"
    );
  }
  return null;
}

function canCommit(segment: Segment): boolean {
  const { kept, removed, ancestor } = segment;
  if (ancestor !== null) return false;
  const folder = path.dirname(kept.file);
  return removed.every((n) => n.children.length === 1 && path.dirname(n.file) === folder);
}

const exists = (file: string, backing: string | null): FileState => ({ file, exists: true, backing });
const gone = (file: string): FileState => ({ file, exists: false });

function mergeStepOf(segment: Segment, allowCommit: boolean): MergeStep {
  const { kept, removed, ancestor } = segment;
  const absorbsJobs = [...new Set(removed.map((n) => n.jobId))];
  if (allowCommit && canCommit(segment)) {
    const base = removed[removed.length - 1];
    return {
      kind: "commit",
      jobId: kept.jobId,
      diskId: kept.diskId,
      top: kept.file,
      base: base.file,
      intermediates: removed.slice(0, -1).map((n) => n.file),
      absorbsJobs,
      before: [exists(kept.file, removed[0].file), exists(base.file, null)],
      after: [exists(kept.file, null), gone(base.file)],
    };
  }
  const newBacking = ancestor ? ancestor.file : null;
  return {
    kind: "rebase",
    jobId: kept.jobId,
    diskId: kept.diskId,
    child: kept.file,
    oldBacking: removed[0].file,
    newBacking,
    temp: `${kept.file}${TEMP_SUFFIX}`,
    absorbs: removed.map((n) => n.file),
    absorbsJobs,
    before: [exists(kept.file, removed[0].file)],
    after: [exists(kept.file, newBacking)],
  };
}

/** Descendants before their ancestors, so no file is ever left standing on a deleted one. */
function depthOf(node: Node, graph: DiskGraph): number {
  let depth = 0;
  for (let n = node; n.backing && graph.nodes.has(n.backing); n = graph.nodes.get(n.backing) as Node) depth += 1;
  return depth;
}

function deleteStepOf(node: Node, guards: string[]): DeleteStep {
  return {
    kind: "delete",
    jobId: node.jobId,
    diskId: node.diskId,
    file: node.file,
    guards,
    before: [exists(node.file, node.backing)],
    after: [gone(node.file)],
  };
}

type Attempt = { steps: PruneStep[]; refused: Map<string, string>; merged: Set<string>; removedFiles: string[] };

function attempt(graphs: DiskGraph[], removedJobs: ReadonlySet<string>, allowCommit: boolean): Attempt {
  const refused = new Map<string, string>();
  const merged = new Set<string>();
  const freeDeletes: Array<{ node: Node; depth: number }> = [];
  const merges: PruneStep[] = [];
  const mergedDeletes: Array<{ node: Node; depth: number; guards: string[] }> = [];
  const removedFiles: string[] = [];
  for (const graph of graphs) {
    const segments = segmentsOf(graph, removedJobs);
    for (const segment of segments) {
      const why = mergeRefusal(segment);
      if (why) for (const n of segment.removed) if (!refused.has(n.jobId)) refused.set(n.jobId, why);
    }
    if (refused.size > 0) continue;
    // A removed file can be in several segments (two kept children of one removed full, say):
    // each kept child gets its merge, and the file goes once all of them are done.
    const keptAbove = new Map<string, string[]>();
    for (const segment of segments) {
      for (const n of segment.removed) keptAbove.set(n.file, [...(keptAbove.get(n.file) ?? []), segment.kept.file]);
    }
    const committedBases = new Set<string>();
    for (const segment of segments) {
      const step = mergeStepOf(segment, allowCommit);
      if (step.kind === "commit") committedBases.add(step.base);
      merges.push(step);
      for (const n of segment.removed) merged.add(n.jobId);
    }
    for (const node of graph.nodes.values()) {
      if (!removedJobs.has(node.jobId)) continue;
      removedFiles.push(node.file);
      const depth = depthOf(node, graph);
      const guards = keptAbove.get(node.file);
      if (!guards) freeDeletes.push({ node, depth });
      else if (!committedBases.has(node.file)) mergedDeletes.push({ node, depth, guards: guards.sort() });
    }
  }
  // Descendants before their ancestors (then by name, so plans repeat).
  const byDepth = (a: { node: Node; depth: number }, b: { node: Node; depth: number }) =>
    b.depth - a.depth || (a.node.file < b.node.file ? -1 : 1);
  const steps: PruneStep[] = [
    // First what nothing kept stands on: it frees space for the merges.
    ...freeDeletes.sort(byDepth).map(({ node }) => deleteStepOf(node, [])),
    ...merges,
    ...mergedDeletes.sort(byDepth).map(({ node, guards }) => deleteStepOf(node, guards)),
  ];
  return { steps, refused, merged, removedFiles };
}

/**
 * The plan that applies `decisions` to the VM's `points`. A point retention removes but whose
 * merge qemu 7.2 cannot do safely is kept (with the reason); that can make other merges
 * unnecessary, so the plan is made again until nothing more is refused.
 */
export function planPrune(
  points: readonly ChainPoint[],
  decisions: readonly RetentionDecision[],
  options: PrunePlanOptions = {},
): PrunePlan {
  const allowCommit = options.allowCommit ?? true;
  const known = new Set(points.map((p) => p.jobId));
  const decisionOf = new Map(decisions.map((d) => [d.jobId, d]));
  for (const jobId of known) {
    if (!decisionOf.has(jobId)) throw new RangeError(`point ${jobId} has no retention decision`);
  }
  const graphs = graphsOf(points);
  const removedJobs = new Set(decisions.filter((d) => !d.keep && known.has(d.jobId)).map((d) => d.jobId));
  const refusedWhy = new Map<string, string>();
  let result = attempt(graphs, removedJobs, allowCommit);
  while (result.refused.size > 0) {
    for (const [jobId, why] of result.refused) {
      refusedWhy.set(jobId, why);
      removedJobs.delete(jobId);
    }
    result = attempt(graphs, removedJobs, allowCommit);
  }

  const order = points.map((p) => p.jobId);
  const keep = order
    .filter((jobId) => !removedJobs.has(jobId))
    .map((jobId) => {
      const why = refusedWhy.get(jobId);
      const reasons = decisionOf.get(jobId)?.reasons ?? [];
      return { jobId, reasons: why ? [`kept although ${reasons[0] ?? "not selected"}: ${why}`] : reasons };
    });
  const remove = order
    .filter((jobId) => removedJobs.has(jobId))
    .map((jobId) => ({ jobId, reason: decisionOf.get(jobId)?.reasons[0] ?? "" }));
  const removedFiles = new Set(result.removedFiles);
  const finalFiles = graphs.flatMap((g) =>
    [...g.nodes.values()].filter((n) => !removedJobs.has(n.jobId)).map((n) => n.file),
  );
  return {
    steps: result.steps,
    keep,
    remove,
    merged: order.filter((jobId) => result.merged.has(jobId)),
    finalFiles: finalFiles.sort(),
    removedFiles: [...removedFiles].sort(),
  };
}
