// Changed blocks: an incremental driven by a qemu dirty bitmap. The source export negotiated
// `qemu:dirty-bitmap:NAME` (qemu-nbd -B NAME, or libvirt's pull-mode backup export); its dirty
// extents are exactly what was written since the bitmap was created, at the bitmap's
// granularity. Only those are copied into the destination, an overlay whose backing file is
// the previous point. Inside a dirty extent, zeroes become WRITE_ZEROES and are never skipped:
// the backing file holds the old data there.
import {
  BASE_ALLOCATION,
  copy,
  dirtyBitmapContext,
  dirtyRanges,
  type CopyProgress,
  type NbdDevice,
  type Range,
  type TransferOptions,
  type TransferResult,
} from "@/lib/nbd/client";

/** Progress's `total` is the changed bytes (what moves), not the disk size; 16 in flight by default. */
export type ChangedBlocksOptions = TransferOptions<CopyProgress> & {
  /** The dirty bitmap's name, as in `qemu:dirty-bitmap:NAME`. */
  bitmap: string;
};

/** bytesRead leaves out zero extents inside dirty ranges (they are not read). */
export type ChangedBlocksResult = TransferResult & {
  /** Bytes the bitmap marks dirty: what this incremental moves. */
  changedBytes: number;
  /** The dirty ranges, sorted and merged (for verifyExtents). */
  changedRanges: Range[];
};

/** The meta contexts a changed-blocks source connection must ask for. */
export function changedBlocksContexts(bitmap: string): string[] {
  return [BASE_ALLOCATION, dirtyBitmapContext(bitmap)];
}

export async function copyChangedBlocks(
  source: NbdDevice,
  destination: NbdDevice,
  options: ChangedBlocksOptions,
): Promise<ChangedBlocksResult> {
  const context = dirtyBitmapContext(options.bitmap);
  if (!source.metaContexts.has(context)) {
    throw new Error(`changed blocks: the source export does not offer ${context} (connect asking for it)`);
  }
  if (destination.size !== source.size) {
    throw new RangeError(
      `changed blocks: the destination (${destination.size} bytes) must have the source's size (${source.size} bytes)`,
    );
  }
  const req = { signal: options.signal, timeoutMs: options.timeoutMs };
  const changedRanges = await dirtyRanges(source, options.bitmap, req);
  const changedBytes = changedRanges.reduce((n, r) => n + r.length, 0);
  const copied = await copy(source, destination, {
    ranges: changedRanges,
    // The overlay shows the previous point through: zeroes must be written, never skipped.
    destinationIsZero: false,
    requestSize: options.requestSize,
    inFlight: options.inFlight,
    flush: options.flush,
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    onProgress: options.onProgress,
    onWritten: options.onWritten,
    buffers: options.buffers,
  });
  return {
    changedBytes,
    bytesRead: copied.bytesRead,
    bytesWritten: copied.bytesWritten,
    bytesZeroed: copied.bytesZeroed,
    changedRanges,
  };
}
