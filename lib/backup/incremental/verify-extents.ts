// Read-back verification of an incremental's written extents: the same ranges of two devices
// (the source, and the finished point read through its backing chain) are read side by side
// and the first differing byte, if any, is reported. It proves that what was written is right
// without reading the whole disk; the blocks outside the ranges are vouched for by the bitmap
// (changed blocks) or by the compare that skipped them (content diff). `qemu-img compare` of
// the whole chain stays the complete check.
import {
  alignDown,
  checkRange,
  normaliseRanges,
  runWorkers,
  splitRange,
  type NbdDevice,
  type Range,
} from "@/lib/nbd/client";

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
  let done = 0;
  let bytesCompared = 0;
  // Chunks are handed out in order, so every chunk before the lowest difference found is read.
  let first = Number.POSITIVE_INFINITY;

  async function* items(): AsyncGenerator<Range> {
    for (const r of wanted) yield* splitRange(r.offset, r.length, chunk);
  }
  await runWorkers<Range>({
    count: options.inFlight ?? 8,
    signal: options.signal,
    items,
    worker: (stop) => {
      const req = { signal: stop, timeoutMs: options.timeoutMs };
      const ours = Buffer.allocUnsafe(chunk);
      const theirs = Buffer.allocUnsafe(chunk);
      return async (item) => {
        if (item.offset < first) {
          const x = ours.subarray(0, item.length);
          const y = theirs.subarray(0, item.length);
          await Promise.all([a.readInto(item.offset, x, req), b.readInto(item.offset, y, req)]);
          bytesCompared += item.length;
          if (!x.equals(y)) first = Math.min(first, item.offset + firstDifference(x, y));
        }
        done += item.length;
        options.onProgress?.({ done, total });
      };
    },
  });
  if (Number.isFinite(first)) return { identical: false, bytesCompared, offset: first };
  return { identical: true, bytesCompared };
}
