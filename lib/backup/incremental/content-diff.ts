// Content diff: an incremental without a dirty bitmap (raw files, NBD sources without one, a
// bitmap that cannot be trusted). The source and the previous point (read through its backing
// chain) are read side by side and compared per block (64 KiB, the qcow2 cluster); only blocks
// that differ are written into the destination, an overlay whose backing file is the previous
// point. Regions the source's base:allocation reports as zero are not read: when the previous
// point reports zero there too they are skipped, else they become WRITE_ZEROES. The whole
// source is read; only what changed is written. Never writes less than what changed: every
// block is either proved equal to the previous point or written.
import {
  allocationRuns,
  alignDown,
  isAllZero,
  makeZero,
  normaliseRanges,
  runTransfer,
  splitRange,
  type NbdDevice,
  type Range,
  type RequestOptions,
  type TransferOptions,
  type TransferResult,
} from "@/lib/nbd/client";

export const DEFAULT_DIFF_BLOCK = 64 * 1024;

export type ContentDiffProgress = {
  /** Bytes of the source examined so far (compared, or known zero). */
  done: number;
  /** The source's size: a content diff has to look at all of it. */
  total: number;
  /** Bytes found changed so far (written or zeroed). */
  changedBytes: number;
};

/** requestSize is read on each side (a multiple of blockSize); 8 in flight by default, so memory
 * use is about 2 × inFlight × requestSize. */
export type ContentDiffOptions = TransferOptions<ContentDiffProgress> & {
  /** Compare and write granularity (default 64 KiB, the qcow2 cluster). */
  blockSize?: number;
};

export type ContentDiffResult = TransferResult & {
  /** Bytes written or zeroed because they differ from the previous point. */
  changedBytes: number;
  /** Bytes read from the previous point. */
  previousBytesRead: number;
  /** Sorted, merged: where the destination was written (for verifyExtents). */
  changedRanges: Range[];
};

type Item = { kind: "compare" | "zero" | "same"; offset: number; length: number };

/** Where the source reads zero: skipped where the previous point reads zero too (its own map). */
async function* zeroItems(previous: NbdDevice, run: Range, block: number, req: RequestOptions): AsyncGenerator<Item> {
  const end = run.offset + run.length;
  const within = Math.max(0, Math.min(end, previous.size) - run.offset);
  for await (const p of allocationRuns(previous, run.offset, within, block, req)) {
    yield { kind: p.zero ? "same" : "zero", offset: p.offset, length: p.length };
  }
  // Beyond the previous point's end (the disk grew) the overlay reads zero already.
  if (within < run.length) yield { kind: "same", offset: run.offset + within, length: run.length - within };
}

async function* plan(
  source: NbdDevice,
  previous: NbdDevice,
  chunk: number,
  block: number,
  stop: AbortSignal,
): AsyncGenerator<Item> {
  const req = { signal: stop };
  for await (const run of allocationRuns(source, 0, source.size, block, req)) {
    if (run.zero) yield* zeroItems(previous, run, block, req);
    else for (const r of splitRange(run.offset, run.length, chunk)) yield { kind: "compare", ...r };
  }
}

export async function contentDiff(
  source: NbdDevice,
  previous: NbdDevice,
  destination: NbdDevice,
  options: ContentDiffOptions = {},
): Promise<ContentDiffResult> {
  if (destination.size !== source.size) {
    throw new RangeError(
      `content diff: the destination (${destination.size} bytes) must have the source's size (${source.size} bytes)`,
    );
  }
  if (destination.features.readOnly) throw new Error("content diff: the destination export is read-only");
  const minimum = Math.max(source.blockSize.minimum, previous.blockSize.minimum, destination.blockSize.minimum);
  const block = options.blockSize ?? DEFAULT_DIFF_BLOCK;
  if (!Number.isSafeInteger(block) || block <= 0 || block % minimum !== 0) {
    throw new RangeError(`content diff: block size ${block} is not a multiple of the exports' block size ${minimum}`);
  }
  const maximum = Math.min(source.blockSize.maximum, previous.blockSize.maximum, destination.blockSize.maximum);
  const chunk = alignDown(Math.min(options.requestSize ?? 4 * 1024 * 1024, Math.max(maximum, block)), block);

  const result: ContentDiffResult = {
    changedBytes: 0,
    bytesRead: 0,
    previousBytesRead: 0,
    bytesWritten: 0,
    bytesZeroed: 0,
    changedRanges: [],
  };
  const changed: Range[] = [];
  let done = 0;
  const report = (length: number) => {
    done += length;
    options.onProgress?.({ done, total: source.size, changedBytes: result.changedBytes });
  };

  const items = (stop: AbortSignal) => plan(source, previous, chunk, block, stop);
  await runTransfer<Item>(options, destination, 8, items, (req) => {
    const ours = Buffer.allocUnsafe(chunk);
    const theirs = Buffer.allocUnsafe(chunk);
    const zero = async (offset: number, length: number) => {
      await makeZero(destination, offset, length, chunk, req);
      result.bytesZeroed += length;
      result.changedBytes += length;
      changed.push({ offset, length });
      options.onWritten?.(offset, length, null);
    };
    const write = async (offset: number, data: Buffer) => {
      await destination.write(offset, data, req);
      result.bytesWritten += data.length;
      result.changedBytes += data.length;
      changed.push({ offset, length: data.length });
      options.onWritten?.(offset, data.length, data);
    };
    /** Writes the blocks of `s` that differ from `p`, neighbours of one kind in one request. */
    const writeDifferences = async (offset: number, s: Buffer, p: Buffer) => {
      let run: { start: number; end: number; zero: boolean } | undefined;
      const flushRun = async () => {
        if (!run) return;
        const { start, end, zero: isZero } = run;
        run = undefined;
        if (isZero) await zero(offset + start, end - start);
        else await write(offset + start, s.subarray(start, end));
      };
      for (let at = 0; at < s.length; at += block) {
        const to = Math.min(at + block, s.length);
        const mine = s.subarray(at, to);
        if (mine.equals(p.subarray(at, to))) {
          await flushRun();
          continue;
        }
        const isZero = isAllZero(mine);
        if (run && run.zero === isZero && run.end === at) run.end = to;
        else {
          await flushRun();
          run = { start: at, end: to, zero: isZero };
        }
      }
      await flushRun();
    };
    return async (item) => {
      if (item.kind === "zero") {
        await zero(item.offset, item.length);
      } else if (item.kind === "compare") {
        const s = ours.subarray(0, item.length);
        const p = theirs.subarray(0, item.length);
        // The previous point may be shorter (the disk grew): past its end it reads zero.
        const theirLength = Math.max(0, Math.min(item.length, previous.size - item.offset));
        await Promise.all([
          source.readInto(item.offset, s, req),
          theirLength > 0 ? previous.readInto(item.offset, p.subarray(0, theirLength), req) : undefined,
        ]);
        p.fill(0, theirLength);
        result.bytesRead += item.length;
        result.previousBytesRead += theirLength;
        if (!s.equals(p)) await writeDifferences(item.offset, s, p);
      }
      report(item.length);
    };
  });
  result.changedRanges = normaliseRanges(changed);
  return result;
}
