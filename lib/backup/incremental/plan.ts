// How one disk of a backup is copied, decided from facts gathered beforehand (pure): a full
// copy, changed blocks from a dirty bitmap, or a content diff against the previous point. The
// reason is a sentence for the event log and the job page. The rule: a bitmap drives a copy
// only when it is known good and the disk kept its size; anything doubtful falls back to
// content diff, which reads everything and so cannot miss a change.
import { formatBytes } from "@/lib/format";
import type { BitmapCheck } from "../bitmaps";

export type CopyMode = "full" | "changed-blocks" | "content-diff";

export type SourceFacts =
  | { kind: "qcow2-file"; virtualSize: number }
  | { kind: "raw-file"; virtualSize: number }
  | {
      kind: "nbd";
      virtualSize: number;
      /** The export's `qemu:dirty-bitmap:NAME` the request names, tracking writes since the previous point. */
      dirtyBitmap?: string;
      /** Whether the export offered that context when asked; unknown (undefined) counts as offered. */
      dirtyBitmapOffered?: boolean;
    };

export type PreviousPoint = {
  jobId: string;
  virtualSize: number;
  /** The bitmap that job added on this (qcow2 file) source when it started, if any. */
  bitmap?: string | null;
};

export type PlanInput = {
  type: "full" | "incremental";
  source: SourceFacts;
  previous: PreviousPoint | null;
  /** checkBitmap(source, previous.bitmap, previous.virtualSize): required for a qcow2 file with one. */
  bitmapCheck?: BitmapCheck;
};

export type CopyPlan =
  | { mode: "full"; reason: string }
  | { mode: "changed-blocks"; reason: string; bitmap: string; backingJobId: string }
  | { mode: "content-diff"; reason: string; backingJobId: string };

function contentDiff(previous: PreviousPoint, why: string): CopyPlan {
  return {
    mode: "content-diff",
    reason: `content diff since job ${previous.jobId}: ${why}; every block was compared`,
    backingJobId: previous.jobId,
  };
}

function resized(previous: PreviousPoint, source: SourceFacts): string {
  return (
    `the disk was resized since that backup (${formatBytes(previous.virtualSize)} then, ` +
    `${formatBytes(source.virtualSize)} now)`
  );
}

export function planCopy(input: PlanInput): CopyPlan {
  const { source, previous } = input;
  if (input.type === "full") return { mode: "full", reason: "full: a full backup was asked for" };
  if (!previous) return { mode: "full", reason: "full: no previous backup of this disk" };
  const sameSize = source.virtualSize === previous.virtualSize;

  if (source.kind === "raw-file") return contentDiff(previous, "a raw file keeps no dirty bitmap");

  if (source.kind === "nbd") {
    const bitmap = source.dirtyBitmap;
    if (!bitmap) return contentDiff(previous, "the NBD source names no dirty bitmap");
    if (source.dirtyBitmapOffered === false) {
      return contentDiff(previous, `the NBD source does not offer qemu:dirty-bitmap:${bitmap}`);
    }
    if (!sameSize) return contentDiff(previous, resized(previous, source));
    return {
      mode: "changed-blocks",
      reason: `changed blocks since job ${previous.jobId} (the source's bitmap ${bitmap})`,
      bitmap,
      backingJobId: previous.jobId,
    };
  }

  const bitmap = previous.bitmap;
  if (!bitmap) return contentDiff(previous, "that job left no bitmap on the source");
  const check = input.bitmapCheck;
  if (!check) throw new Error(`plan: check bitmap ${bitmap} of job ${previous.jobId} before planning`);
  if (!check.usable) return contentDiff(previous, check.reason);
  // checkBitmap compares sizes too; a plan made from stale facts must not trust the bitmap either.
  if (!sameSize) return contentDiff(previous, resized(previous, source));
  return {
    mode: "changed-blocks",
    reason: `changed blocks since job ${previous.jobId} (bitmap ${bitmap})`,
    bitmap,
    backingJobId: previous.jobId,
  };
}
