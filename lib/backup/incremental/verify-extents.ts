// Read-back verification of an incremental's written extents. Two ways, equally strong:
// - verifyWritten (what the product runs): while copying, every piece written is logged
//   (WrittenLog, fed by the transfer's onWritten): for an NBD source with the source bytes it was
//   made of, kept as they are up to a bound and as a SHA-256 past it, so the source is read once;
//   for a source read from its file, by place only, the file being read again (decision 034).
//   Afterwards the new point is read back and compared (a zeroed piece must read zero).
// - verifyExtents: the same ranges of two devices (the source, and the finished point read
//   through its backing chain) read side by side.
// Either reports the first differing byte, if any. It proves that what was written is right
// without reading the whole disk; the blocks outside the ranges are vouched for by the bitmap
// (changed blocks) or by the compare that skipped them (content diff). `qemu-img compare` of
// the whole chain stays the complete check.
import { createHash } from "node:crypto";
import {
  isAllZero,
  alignDown,
  checkRange,
  normaliseRanges,
  runWorkers,
  Scratch,
  splitRange,
  type NbdDevice,
  type Range,
} from "@/lib/nbd/client";

const DIGEST = "sha256";
const DIGEST_SIZE = 32;
/**
 * All logs of this process together keep the bytes written themselves up to this much (compared
 * byte for byte, no hashing: a SHA-256 costs about as much CPU as the NBD read it checks); past
 * it, a log keeps a digest of each piece. Shared rather than per log, so one incremental of a
 * typical change (figure 7: 51 MiB) hashes nothing, and many disks copied at once still hold
 * no more than this in all (decision 024).
 */
export const KEEP_WRITTEN_BYTES = 64 * 1024 * 1024;

/** A bound on kept bytes that several logs draw from; each gives its share back on release. */
export class KeptBytes {
  constructor(private left: number) {}
  take(n: number): boolean {
    if (n > this.left) return false;
    this.left -= n;
    return true;
  }
  give(n: number): void {
    this.left += n;
  }
}

/** The process's budget (the engine runs only in the runtime, so one module instance). */
const shared = new KeptBytes(KEEP_WRITTEN_BYTES);
const SLAB = 4 * 1024 * 1024;

/**
 * What a transfer wrote, piece by piece (its onWritten): offset, length and the bytes (kept, or
 * their SHA-256), nothing for a piece made zero. Bounded: data only while its budget lasts
 * (KeptBytes), then a few numbers and 32 bytes a piece. Release it when done with it.
 */
export class WrittenLog {
  private offsets: number[] = [];
  /** Negative: a piece made zero. */
  private lengths: number[] = [];
  /** Per piece: ≥ 0 an index into `kept`, < 0 a digest's index (-1 the first); zero pieces -0 unused. */
  private slots: number[] = [];
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private slab = Buffer.alloc(0);
  private slabUsed = 0;
  private digests = Buffer.alloc(0);
  private digestCount = 0;
  private largest = 0;
  /** Buffers lent to the transfer and not yet back or logged; given back ones, for reuse. */
  private lent = new Set<Buffer>();
  private spare: Buffer[] = [];

  private readonly budget: KeptBytes;
  /** Places only: neither bytes nor digests (the read-back reads the source again). */
  private readonly placesOnly: boolean;

  /**
   * `keep`: a budget of its own (a number of bytes) or a shared one, by default the process's;
   * or "places": only where each piece went, for a source cheap to read again (a file read
   * through the page cache, decision 034), so the copy holds no bytes and hashes nothing.
   */
  constructor(keep: number | KeptBytes | "places" = shared) {
    this.placesOnly = keep === "places";
    this.budget = typeof keep === "number" ? new KeptBytes(keep) : keep === "places" ? new KeptBytes(0) : keep;
  }

  /** Gives the kept bytes' share back to the budget and drops them; the log is empty after. */
  release(): void {
    this.budget.give(this.keptBytes);
    this.keptBytes = 0;
    this.kept = [];
    this.slab = Buffer.alloc(0);
    this.slabUsed = 0;
    this.lent.clear();
    this.spare = [];
    this.offsets = [];
    this.lengths = [];
    this.slots = [];
    this.digests = Buffer.alloc(0);
    this.digestCount = 0;
  }

  /** `length` bytes of the slab, counted as kept; undefined once the budget is spent. */
  private reserve(length: number): Buffer | undefined {
    if (!this.budget.take(length)) return undefined;
    if (this.slabUsed + length > this.slab.length) {
      this.slab = Buffer.allocUnsafe(Math.max(SLAB, length));
      this.slabUsed = 0;
    }
    const view = this.slab.subarray(this.slabUsed, this.slabUsed + length);
    this.slabUsed += length;
    this.keptBytes += length;
    return view;
  }

  /**
   * The transfer's `buffers` (copy's option): the source is read straight into kept bytes, so
   * logging a piece copies nothing. A buffer given back (the piece read zero) is lent again.
   */
  readonly buffers = {
    take: (length: number): Buffer | undefined => {
      const i = this.spare.findIndex((b) => b.length >= length);
      const buf = i >= 0 ? this.spare.splice(i, 1)[0].subarray(0, length) : this.reserve(length);
      if (buf) this.lent.add(buf);
      return buf;
    },
    back: (buf: Buffer): void => {
      if (this.lent.delete(buf)) this.spare.push(buf);
    },
  };

  /** The transfer's onWritten: call it with the bytes while they are still the ones written. */
  readonly add = (offset: number, length: number, data: Buffer | null): void => {
    this.offsets.push(offset);
    this.lengths.push(data ? length : -length);
    if (!data) {
      this.slots.push(0);
      return;
    }
    this.largest = Math.max(this.largest, length);
    if (this.placesOnly) {
      this.slots.push(0);
      return;
    }
    // Read into a buffer this log lent: kept as it is.
    if (data.length === length && this.lent.delete(data)) {
      this.slots.push(this.kept.push(data) - 1);
      return;
    }
    const copy = this.reserve(length);
    if (copy) {
      data.copy(copy);
      this.slots.push(this.kept.push(copy) - 1);
      return;
    }
    const d = this.digestCount++;
    if (this.digests.length < this.digestCount * DIGEST_SIZE) {
      const grown = Buffer.alloc(Math.max(64, 2 * this.digestCount) * DIGEST_SIZE);
      this.digests.copy(grown);
      this.digests = grown;
    }
    createHash(DIGEST)
      .update(data)
      .digest()
      .copy(this.digests, d * DIGEST_SIZE);
    this.slots.push(-(d + 1));
  };

  get pieces(): number {
    return this.offsets.length;
  }
  get bytes(): number {
    return this.lengths.reduce((n, l) => n + Math.abs(l), 0);
  }
  /** The largest data piece (the read-back's buffer size). */
  get largestData(): number {
    return this.largest;
  }

  /** Piece indexes in offset order, so a read-back finds the lowest difference first. */
  ordered(): number[] {
    return this.offsets.map((_, i) => i).sort((a, b) => this.offsets[a] - this.offsets[b]);
  }
  piece(i: number): { offset: number; length: number; zero: boolean } {
    const length = this.lengths[i];
    return { offset: this.offsets[i], length: Math.abs(length), zero: length < 0 };
  }
  /** The bytes piece `i` was written with, when they were kept (else only their digest was). */
  bytesOf(i: number): Buffer | null {
    return this.lengths[i] > 0 && this.slots[i] >= 0 ? this.kept[this.slots[i]] : null;
  }
  /** Whether a digest of data piece `i` was kept (not its bytes). */
  hasDigest(i: number): boolean {
    return this.lengths[i] > 0 && this.slots[i] < 0;
  }

  /** Whether `data` is what data piece `i` was written with (false when nothing of it was kept). */
  matches(i: number, data: Buffer): boolean {
    const kept = this.bytesOf(i);
    if (kept) return kept.equals(data);
    if (!this.hasDigest(i)) return false;
    const d = -this.slots[i] - 1;
    return createHash(DIGEST)
      .update(data)
      .digest()
      .equals(this.digests.subarray(d * DIGEST_SIZE, (d + 1) * DIGEST_SIZE));
  }
}

export type VerifyExtentsOptions = {
  /** Bytes per read request on each side (default 4 MiB). */
  requestSize?: number;
  /** Chunks in flight (default 8). */
  inFlight?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
  onProgress?: (progress: { done: number; total: number }) => void;
};

export type VerifyExtentsResult =
  | { identical: true; bytesCompared: number }
  | { identical: false; bytesCompared: number; /** The first byte that differs. */ offset: number };

/** Index of the first differing byte of two equally long buffers known to differ. */
export function firstDifference(a: Buffer, b: Buffer): number {
  let from = 0;
  let to = a.length;
  // Halve the window while one half is known equal: memcmp does the work, not a JS loop.
  while (to - from > 64) {
    const mid = from + Math.floor((to - from) / 2);
    if (a.subarray(from, mid).equals(b.subarray(from, mid))) from = mid;
    else to = mid;
  }
  for (let i = from; i < to; i += 1) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * The read-back loop both checks share: `items` in offset order, `inFlight` workers, each with
 * its own buffers (made by `check`), which reads one item and answers the offset of its first
 * wrong byte or -1. Items are handed out in order, so every one before the lowest difference
 * found is read; those after it are skipped.
 */
async function firstWrongByte<T extends Range>(
  items: () => AsyncGenerator<T>,
  total: number,
  options: VerifyExtentsOptions,
  defaultInFlight: number,
  check: (req: { signal: AbortSignal; timeoutMs?: number }) => (item: T) => Promise<number>,
): Promise<VerifyExtentsResult> {
  let done = 0;
  let bytesCompared = 0;
  let first = Number.POSITIVE_INFINITY;
  await runWorkers<T>({
    count: options.inFlight ?? defaultInFlight,
    signal: options.signal,
    items,
    worker: (stop) => {
      const one = check({ signal: stop, timeoutMs: options.timeoutMs });
      return async (item) => {
        if (item.offset < first) {
          const wrong = await one(item);
          bytesCompared += item.length;
          if (wrong >= 0) first = Math.min(first, wrong);
        }
        done += item.length;
        options.onProgress?.({ done, total });
      };
    },
  });
  if (Number.isFinite(first)) return { identical: false, bytesCompared, offset: first };
  return { identical: true, bytesCompared };
}

export async function verifyExtents(
  a: NbdDevice,
  b: NbdDevice,
  ranges: readonly Range[],
  options: VerifyExtentsOptions = {},
): Promise<VerifyExtentsResult> {
  const wanted = normaliseRanges(ranges);
  for (const r of wanted) {
    checkRange(r.offset, r.length, a.size, "verify (first device)");
    checkRange(r.offset, r.length, b.size, "verify (second device)");
  }
  const align = Math.max(a.blockSize.minimum, b.blockSize.minimum);
  const wantedSize = options.requestSize ?? 4 * 1024 * 1024;
  const chunk = alignDown(Math.min(wantedSize, a.blockSize.maximum, b.blockSize.maximum), align);
  const total = wanted.reduce((n, r) => n + r.length, 0);
  async function* items(): AsyncGenerator<Range> {
    for (const r of wanted) yield* splitRange(r.offset, r.length, chunk);
  }
  return firstWrongByte(items, total, options, 8, (req) => {
    const ours = new Scratch();
    const theirs = new Scratch();
    return async (item) => {
      const x = ours.view(item.length);
      const y = theirs.view(item.length);
      await Promise.all([a.readInto(item.offset, x, req), b.readInto(item.offset, y, req)]);
      return x.equals(y) ? -1 : item.offset + firstDifference(x, y);
    };
  });
}

type ReadBackItem = Range & { index: number; zero: boolean };

/** Index of the first non-zero byte (the buffer is known not to be all zero). */
function firstNonZero(buf: Buffer): number {
  return buf.findIndex((b) => b !== 0);
}

/**
 * Reads back what `log` says was written into `written` (the new point, on a connection that
 * did not write it) and compares it with the source's bytes logged while copying (kept, or
 * their digest; a digest that differs sends the source's bytes to be read again to name the
 * first differing byte).
 */
export async function verifyWritten(
  source: NbdDevice,
  written: NbdDevice,
  log: WrittenLog,
  options: VerifyExtentsOptions = {},
): Promise<VerifyExtentsResult> {
  // Zeroed pieces can be large (a zero extent): read back in pieces no larger than the data ones.
  const chunk = Math.max(log.largestData, alignDown(options.requestSize ?? 4 * 1024 * 1024, written.blockSize.minimum));
  async function* items(): AsyncGenerator<ReadBackItem> {
    for (const index of log.ordered()) {
      const { offset, length, zero } = log.piece(index);
      checkRange(offset, length, written.size, "verify (written)");
      if (!zero) yield { index, offset, length, zero };
      else for (const r of splitRange(offset, length, chunk)) yield { index, ...r, zero };
    }
  }
  return firstWrongByte(items, log.bytes, options, 16, (req) => {
    const theirs = new Scratch();
    const ours = new Scratch();
    return async (item) => {
      const y = theirs.view(item.length);
      await written.readInto(item.offset, y, req);
      if (item.zero) return isAllZero(y) ? -1 : item.offset + firstNonZero(y);
      const kept = log.bytesOf(item.index);
      if (kept) return kept.equals(y) ? -1 : item.offset + firstDifference(kept, y);
      const digest = log.hasDigest(item.index);
      if (digest && log.matches(item.index, y)) return -1;
      // Only a digest, which differs (the source's bytes name the first wrong byte), or only the
      // piece's place: the source's bytes, read again.
      const x = ours.view(item.length);
      await source.readInto(item.offset, x, req);
      // The source reads as the digest says no more (it changed since): the piece's start.
      if (x.equals(y)) return digest ? item.offset : -1;
      return item.offset + firstDifference(x, y);
    };
  });
}
