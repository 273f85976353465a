// Pure range arithmetic shared by the client (splitting large requests) and the copy helper.

export type Range = { offset: number; length: number };

/** Consecutive pieces of at most `max` bytes covering [offset, offset + length). */
export function splitRange(offset: number, length: number, max: number): Range[] {
  if (!(max > 0)) throw new RangeError(`piece size must be positive, got ${max}`);
  const out: Range[] = [];
  for (let at = offset, end = offset + length; at < end; at += max) {
    out.push({ offset: at, length: Math.min(max, end - at) });
  }
  return out;
}

/** The largest multiple of `align` not above `value` (at least `align`). */
export function alignDown(value: number, align: number): number {
  return Math.max(align, value - (value % align));
}

export function checkRange(offset: number, length: number, size: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`${what}: bad offset ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`${what}: bad length ${length}`);
  if (offset + length > size) {
    throw new RangeError(`${what}: range ${offset}+${length} runs past the end of the export (${size} bytes)`);
  }
}

/** Sorted, non-overlapping, non-empty ranges; throws on overlap so a caller's bug is not hidden. */
export function normaliseRanges(ranges: readonly Range[]): Range[] {
  const sorted = ranges
    .filter((r) => r.length > 0)
    .map((r) => ({ ...r }))
    .sort((a, b) => a.offset - b.offset);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.offset < last.offset + last.length) {
      throw new RangeError(`ranges overlap: ${last.offset}+${last.length} and ${r.offset}+${r.length}`);
    }
    if (last && r.offset === last.offset + last.length) last.length += r.length;
    else out.push(r);
  }
  return out;
}
