// Copy ranges of one export to the same offsets of another, with a fixed number of requests
// in flight. Zeroes are never shipped as data: extents the source reports as reading zero
// (base:allocation NBD_STATE_ZERO) and chunks that read back all zero become WRITE_ZEROES, or
// nothing at all when the caller knows the destination already reads zero. An incremental
// backup passes the dirty ranges; a full copy passes one range covering the disk.
import { setMaxListeners } from "node:events";
import { BASE_ALLOCATION, extents, isZeroExtent } from "./block-status";
import { abortReason } from "./errors";
import type { NbdDevice } from "./features";
import { alignDown, checkRange, normaliseRanges, splitRange, type Range } from "./ranges";

export type CopyProgress = { done: number; total: number };

export type CopyOptions = {
  /** What to copy; default the whole source. Sorted and merged; overlaps are an error. */
  ranges?: readonly Range[];
  /** Bytes per read/write request (default 4 MiB; rounded to the block size). */
  requestSize?: number;
  /** Requests in flight (default 16); memory use is about inFlight × requestSize. */
  inFlight?: number;
  /** The destination already reads as zeroes (fresh image): zero regions are skipped. */
  destinationIsZero?: boolean;
  /** Ask the source for base:allocation extents, when negotiated (default true). */
  useExtents?: boolean;
  /** Flush the destination at the end (default true). */
  flush?: boolean;
  signal?: AbortSignal;
  /** Per-request timeout in ms, passed to every request. */
  timeoutMs?: number;
  onProgress?: (progress: CopyProgress) => void;
};

export type CopyResult = {
  /** Bytes read from the source. */
  bytesRead: number;
  /** Bytes written to the destination as data. */
  bytesWritten: number;
  /** Bytes made zero on the destination with WRITE_ZEROES (or zero-filled writes if unsupported). */
  bytesZeroed: number;
  /** Zero bytes not sent at all because the destination was declared zero. */
  bytesSkipped: number;
};

type Item = { kind: "data" | "zero"; offset: number; length: number };

async function* plan(source: NbdDevice, ranges: Range[], chunk: number, useExtents: boolean, signal: AbortSignal) {
  for (const range of ranges) {
    if (!useExtents) {
      for (const r of splitRange(range.offset, range.length, chunk)) yield { kind: "data", ...r } satisfies Item;
      continue;
    }
    for await (const e of extents(source, BASE_ALLOCATION, range.offset, range.length, { signal })) {
      // A hole without NBD_STATE_ZERO may read as anything (a backing file): it is copied as data.
      if (isZeroExtent(e)) yield { kind: "zero", offset: e.offset, length: e.length } satisfies Item;
      else for (const r of splitRange(e.offset, e.length, chunk)) yield { kind: "data", ...r } satisfies Item;
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
  const inFlight = Math.max(1, options.inFlight ?? 16);
  const useExtents = options.useExtents !== false && source.metaContexts.has(BASE_ALLOCATION);
  const total = ranges.reduce((n, r) => n + r.length, 0);
  const result: CopyResult = { bytesRead: 0, bytesWritten: 0, bytesZeroed: 0, bytesSkipped: 0 };
  let done = 0;

  // One controller stops every worker on the first failure or on the caller's abort.
  const stop = new AbortController();
  // Every request in flight listens on it: more than Node's default of 10 is the normal case.
  setMaxListeners(0, stop.signal);
  const onCallerAbort = () => stop.abort(abortReason(options.signal as AbortSignal));
  if (options.signal?.aborted) throw abortReason(options.signal);
  options.signal?.addEventListener("abort", onCallerAbort, { once: true });
  const req = { signal: stop.signal, timeoutMs: options.timeoutMs };
  const zeroes = Buffer.alloc(chunk);
  let firstError: unknown;

  const zero = async (offset: number, length: number) => {
    if (options.destinationIsZero) {
      result.bytesSkipped += length;
    } else if (destination.features.canWriteZeroes) {
      await destination.writeZeroes(offset, length, req);
      result.bytesZeroed += length;
    } else {
      for (const r of splitRange(offset, length, chunk)) {
        await destination.write(r.offset, zeroes.subarray(0, r.length), req);
      }
      result.bytesZeroed += length;
    }
  };

  const items = plan(source, ranges, chunk, useExtents, stop.signal);
  const worker = async () => {
    const buf = Buffer.allocUnsafe(chunk);
    for (;;) {
      if (stop.signal.aborted) return;
      const next = await items.next();
      if (next.done) return;
      const item = next.value;
      if (item.kind === "zero") {
        await zero(item.offset, item.length);
      } else {
        const data = buf.subarray(0, item.length);
        await source.readInto(item.offset, data, req);
        result.bytesRead += item.length;
        if (data.equals(zeroes.subarray(0, item.length))) {
          await zero(item.offset, item.length);
        } else {
          await destination.write(item.offset, data, req);
          result.bytesWritten += item.length;
        }
      }
      done += item.length;
      options.onProgress?.({ done, total });
    }
  };

  const workers = Array.from({ length: inFlight }, () =>
    worker().catch((error: unknown) => {
      if (firstError === undefined) firstError = stop.signal.aborted ? stop.signal.reason : error;
      if (!stop.signal.aborted) stop.abort(error);
    }),
  );
  try {
    await Promise.all(workers);
    if (firstError !== undefined) throw firstError;
    if (stop.signal.aborted) throw stop.signal.reason;
    if (options.flush !== false) await destination.flush(req);
    return result;
  } finally {
    options.signal?.removeEventListener("abort", onCallerAbort);
    await items.return(undefined);
  }
}
