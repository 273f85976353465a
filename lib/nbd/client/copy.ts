// Copy ranges of one export to the same offsets of another, with a fixed number of requests
// in flight. Zeroes are never shipped as data: extents the source reports as reading zero
// (base:allocation NBD_STATE_ZERO) and chunks that read back all zero become WRITE_ZEROES, or
// nothing at all when the caller knows the destination already reads zero. An incremental
// backup passes the dirty ranges; a full copy passes one range covering the disk.
import { BASE_ALLOCATION, extents, isZeroExtent } from "./block-status";
import type { NbdDevice, RequestOptions } from "./features";
import { alignDown, checkRange, normaliseRanges, splitRange, type Range } from "./ranges";
import { Scratch } from "./scratch";
import { runWorkers } from "./workers";
import { isAllZero, makeZero } from "./zeroes";

export type CopyProgress = { done: number; total: number };

/** What every transfer over the client takes (a copy, changed blocks, a content diff). */
export type TransferOptions<Progress> = {
  /** Bytes per request (default 4 MiB; rounded to the block size). */
  requestSize?: number;
  /** Requests in flight; memory use grows with inFlight × requestSize. */
  inFlight?: number;
  /** Flush the destination at the end (default true). */
  flush?: boolean;
  signal?: AbortSignal;
  /** Per-request timeout in ms, passed to every request. */
  timeoutMs?: number;
  onProgress?: (progress: Progress) => void;
  /**
   * Called once a piece of the destination was written: with the bytes written, or null when
   * the piece was made zero (or skipped, the destination being zero already). `data` is reused
   * after the call returns: read it then (a digest), never keep it.
   */
  onWritten?: (offset: number, length: number, data: Buffer | null) => void;
  /**
   * Buffers the caller keeps, for the pieces read (copy): `take(length)` gives one, or undefined
   * for the worker's reused buffer. A piece written as data reaches onWritten in the very buffer
   * taken, which is the caller's from then on (kept without a copy); a piece that read all zero
   * gives its buffer `back`.
   */
  buffers?: { take(length: number): Buffer | undefined; back(buf: Buffer): void };
};

/** What every transfer answers: the bytes it moved, by kind. */
export type TransferResult = {
  /** Bytes read from the source. */
  bytesRead: number;
  /** Bytes written to the destination as data. */
  bytesWritten: number;
  /** Bytes made zero on the destination with WRITE_ZEROES (or zero-filled writes if unsupported). */
  bytesZeroed: number;
};

/** 16 requests in flight by default. */
export type CopyOptions = TransferOptions<CopyProgress> & {
  /** What to copy; default the whole source. Sorted and merged; overlaps are an error. */
  ranges?: readonly Range[];
  /** The destination already reads as zeroes (fresh image): zero regions are skipped. */
  destinationIsZero?: boolean;
  /** Ask the source for base:allocation extents, when negotiated (default true). */
  useExtents?: boolean;
};

export type CopyResult = TransferResult & {
  /** Zero bytes not sent at all because the destination was declared zero. */
  bytesSkipped: number;
};

type Item = { kind: "data" | "zero"; offset: number; length: number };

/**
 * The workers of a transfer (a copy, a content diff): `options.inFlight` of them (default
 * `inFlight`), each made with the options every request takes (the transfer's stop signal and
 * the caller's timeout), and the destination flushed at the end unless `options.flush` is false.
 */
export function runTransfer<T>(
  options: Pick<TransferOptions<never>, "inFlight" | "signal" | "timeoutMs" | "flush">,
  destination: NbdDevice,
  inFlight: number,
  items: (stop: AbortSignal) => AsyncGenerator<T>,
  worker: (req: RequestOptions & { signal: AbortSignal }) => (item: T) => Promise<void>,
): Promise<void> {
  return runWorkers<T>({
    count: options.inFlight ?? inFlight,
    signal: options.signal,
    items,
    worker: (stop) => worker({ signal: stop, timeoutMs: options.timeoutMs }),
    finish: async (stop) => {
      if (options.flush !== false) await destination.flush({ signal: stop, timeoutMs: options.timeoutMs });
    },
  });
}

/**
 * Ranges closer to each other than this share one base:allocation walk. An incremental's dirty
 * ranges are many and small (64 KiB each, hundreds per GiB): one BLOCK_STATUS round trip per
 * range, each awaited before the next, was most of a changed-blocks copy's time (issue 13);
 * one walk over their span asks once, or a few times when the server caps its replies. A gap
 * this large is where a walk over metadata stops paying: a new walk starts after it.
 */
export const STATUS_SPAN_GAP = 64 * 1024 * 1024;

/** Sorted ranges grouped so that a group's ranges lie less than `maxGap` apart. */
export function statusSpans(ranges: readonly Range[], maxGap: number): Range[][] {
  const groups: Range[][] = [];
  let end = Number.NEGATIVE_INFINITY;
  for (const r of ranges) {
    if (groups.length === 0 || r.offset - end >= maxGap) groups.push([]);
    groups[groups.length - 1].push(r);
    end = r.offset + r.length;
  }
  return groups;
}

async function* plan(source: NbdDevice, ranges: Range[], chunk: number, useExtents: boolean, signal: AbortSignal) {
  if (!useExtents) {
    for (const range of ranges) {
      for (const r of splitRange(range.offset, range.length, chunk)) yield { kind: "data", ...r } satisfies Item;
    }
    return;
  }
  for (const group of statusSpans(ranges, STATUS_SPAN_GAP)) {
    const first = group[0].offset;
    const last = group[group.length - 1];
    // The extents of the whole span, cut down to the ranges they cover (both are sorted).
    let i = 0;
    for await (const e of extents(source, BASE_ALLOCATION, first, last.offset + last.length - first, { signal })) {
      const eEnd = e.offset + e.length;
      while (i < group.length && group[i].offset + group[i].length <= e.offset) i += 1;
      for (let j = i; j < group.length && group[j].offset < eEnd; j += 1) {
        const offset = Math.max(group[j].offset, e.offset);
        const length = Math.min(group[j].offset + group[j].length, eEnd) - offset;
        // A hole without NBD_STATE_ZERO may read as anything (a backing file): it is copied as data.
        if (isZeroExtent(e)) yield { kind: "zero", offset, length } satisfies Item;
        else for (const r of splitRange(offset, length, chunk)) yield { kind: "data", ...r } satisfies Item;
      }
    }
  }
}

export async function copy(source: NbdDevice, destination: NbdDevice, options: CopyOptions = {}): Promise<CopyResult> {
  const ranges = normaliseRanges(options.ranges ?? [{ offset: 0, length: source.size }]);
  for (const r of ranges) {
    checkRange(r.offset, r.length, source.size, "copy source");
    checkRange(r.offset, r.length, destination.size, "copy destination");
  }
  if (destination.features.readOnly) throw new Error("copy: the destination export is read-only");
  const align = Math.max(source.blockSize.minimum, destination.blockSize.minimum);
  const chunk = alignDown(
    Math.min(options.requestSize ?? 4 * 1024 * 1024, source.blockSize.maximum, destination.blockSize.maximum),
    align,
  );
  const useExtents = options.useExtents !== false && source.metaContexts.has(BASE_ALLOCATION);
  const total = ranges.reduce((n, r) => n + r.length, 0);
  const result: CopyResult = { bytesRead: 0, bytesWritten: 0, bytesZeroed: 0, bytesSkipped: 0 };
  let done = 0;

  const items = (stop: AbortSignal) => plan(source, ranges, chunk, useExtents, stop);
  await runTransfer<Item>(options, destination, 16, items, (req) => {
    const buf = new Scratch();
    const zero = async (offset: number, length: number) => {
      if (options.destinationIsZero) {
        result.bytesSkipped += length;
      } else {
        await makeZero(destination, offset, length, chunk, req);
        result.bytesZeroed += length;
      }
      options.onWritten?.(offset, length, null);
    };
    return async (item) => {
      if (item.kind === "zero") {
        await zero(item.offset, item.length);
      } else {
        const taken = options.buffers?.take(item.length);
        const data = taken ?? buf.view(item.length);
        try {
          await source.readInto(item.offset, data, req);
        } catch (error) {
          if (taken) options.buffers?.back(taken);
          throw error;
        }
        result.bytesRead += item.length;
        if (isAllZero(data)) {
          if (taken) options.buffers?.back(taken);
          await zero(item.offset, item.length);
        } else {
          await destination.write(item.offset, data, req);
          result.bytesWritten += item.length;
          options.onWritten?.(item.offset, item.length, data);
        }
      }
      done += item.length;
      options.onProgress?.({ done, total });
    };
  });
  return result;
}
