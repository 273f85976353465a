// Extents re-cut at fixed block boundaries (the qcow2 cluster, 64 KiB): a block counts as zero
// only when every byte of it lies in a zero extent. Comparing and writing whole blocks keeps
// writes into a qcow2 overlay cluster-aligned (no copy-on-write reads of the backing file) and
// never skips a block that is only partly zero.
import { BASE_ALLOCATION, extents, isZeroExtent } from "./block-status";
import type { NbdDevice, RequestOptions } from "./features";
import type { Range } from "./ranges";

export type BlockRun = Range & { zero: boolean };

export class BlockAligner {
  private readonly blockSize: number;
  /** The block cut by the last extent's end, while the next extent has not closed it yet. */
  private open: { offset: number; zero: boolean } | undefined;
  private held: BlockRun | undefined;
  private end: number | undefined;

  constructor(blockSize: number) {
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw new RangeError(`bad block size ${blockSize}`);
    this.blockSize = blockSize;
  }

  /**
   * The next extent; extents must follow each other without gaps. Returns the runs that are
   * complete (a run is held back until one of the other kind, or a gap, follows).
   */
  push(offset: number, length: number, zero: boolean): BlockRun[] {
    if (this.end !== undefined && offset !== this.end) {
      throw new RangeError(`extents must be contiguous: expected ${this.end}, got ${offset}`);
    }
    const out: BlockRun[] = [];
    const end = offset + length;
    this.end = end;
    let at = offset;
    const b = this.blockSize;
    if (at % b !== 0) {
      // A stream that starts inside a block starts its first block there.
      const open = this.open ?? { offset: at, zero: true };
      open.zero = open.zero && zero;
      const boundary = at - (at % b) + b;
      if (end < boundary) {
        this.open = open;
        return out;
      }
      this.emit(open.offset, boundary - open.offset, open.zero, out);
      this.open = undefined;
      at = boundary;
    }
    const whole = end - (end % b);
    if (whole > at) {
      this.emit(at, whole - at, zero, out);
      at = whole;
    }
    if (at < end) this.open = { offset: at, zero };
    return out;
  }

  /** Ends the stream: the last, possibly partial, block and the held run. */
  finish(): BlockRun[] {
    const out: BlockRun[] = [];
    const open = this.open;
    if (open && this.end !== undefined) this.emit(open.offset, this.end - open.offset, open.zero, out);
    this.open = undefined;
    if (this.held) out.push(this.held);
    this.held = undefined;
    return out;
  }

  private emit(offset: number, length: number, zero: boolean, out: BlockRun[]): void {
    const held = this.held;
    if (held && held.zero === zero && held.offset + held.length === offset) {
      held.length += length;
      return;
    }
    if (held) out.push(held);
    this.held = { offset, length, zero };
  }
}

/** Block-aligned runs of a whole extent list (pure form of BlockAligner, for callers with an array). */
export function blockRuns(extents: Iterable<BlockRun>, blockSize: number): BlockRun[] {
  const aligner = new BlockAligner(blockSize);
  const out: BlockRun[] = [];
  for (const e of extents) out.push(...aligner.push(e.offset, e.length, e.zero));
  out.push(...aligner.finish());
  return out;
}

/**
 * Block-aligned runs of [offset, offset + length) of a device by its base:allocation extents;
 * without that context the whole range is one data run (nothing is known to be zero).
 */
export async function* allocationRuns(
  device: NbdDevice,
  offset: number,
  length: number,
  blockSize: number,
  options: RequestOptions = {},
): AsyncGenerator<BlockRun> {
  if (length === 0) return;
  if (!device.metaContexts.has(BASE_ALLOCATION)) {
    yield { offset, length, zero: false };
    return;
  }
  const aligner = new BlockAligner(blockSize);
  for await (const e of extents(device, BASE_ALLOCATION, offset, length, options)) {
    yield* aligner.push(e.offset, e.length, isZeroExtent(e));
  }
  yield* aligner.finish();
}
