// Walking a range with NBD_CMD_BLOCK_STATUS. One reply may describe only a prefix of the range
// (qemu stops after a bounded number of extents), and its last extent may run past the end
// asked for; so the walk loops, clamps and merges neighbours with equal flags.
import { abortReason } from "./errors";
import type { BlockExtent, NbdDevice, RequestOptions } from "./features";
import { NBD_STATE_DIRTY, NBD_STATE_HOLE, NBD_STATE_ZERO } from "./protocol";
import { checkRange } from "./ranges";

export const BASE_ALLOCATION = "base:allocation";
export function dirtyBitmapContext(bitmap: string): string {
  return `qemu:dirty-bitmap:${bitmap}`;
}

/** Extents cut to [offset, offset + length); those wholly outside are dropped. */
export function clampExtents(extents: readonly BlockExtent[], offset: number, length: number): BlockExtent[] {
  const end = offset + length;
  const out: BlockExtent[] = [];
  for (const e of extents) {
    const from = Math.max(e.offset, offset);
    const to = Math.min(e.offset + e.length, end);
    if (to > from) out.push({ offset: from, length: to - from, flags: e.flags });
  }
  return out;
}

/** Adjacent extents with the same flags become one. */
export function mergeExtents(extents: readonly BlockExtent[]): BlockExtent[] {
  const out: BlockExtent[] = [];
  for (const e of extents) {
    const last = out[out.length - 1];
    if (last && last.flags === e.flags && last.offset + last.length === e.offset) last.length += e.length;
    else out.push({ ...e });
  }
  return out;
}

/**
 * Every extent of [offset, offset + length) for `context`, in order, clamped and merged. An
 * extent is yielded once the next one is known to differ, so consumers see maximal runs.
 */
export async function* extents(
  device: NbdDevice,
  context: string,
  offset = 0,
  length: number = device.size - offset,
  options: RequestOptions = {},
): AsyncGenerator<BlockExtent> {
  checkRange(offset, length, device.size, "extents");
  const end = offset + length;
  let held: BlockExtent | undefined;
  for (let at = offset; at < end;) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    const got = clampExtents(await device.blockStatus(at, end - at, context, options), at, end - at);
    // A reply that describes nothing would make this loop spin forever.
    if (got.length === 0 || got[0].offset !== at) {
      throw new Error(`block status for ${context} at ${at} made no progress`);
    }
    for (const e of got) {
      if (held && held.flags === e.flags && held.offset + held.length === e.offset) {
        held.length += e.length;
      } else {
        if (held) yield held;
        held = { ...e };
      }
    }
    const last = got[got.length - 1];
    at = last.offset + last.length;
  }
  if (held) yield held;
}

export async function collectExtents(
  device: NbdDevice,
  context: string,
  offset?: number,
  length?: number,
  options?: RequestOptions,
): Promise<BlockExtent[]> {
  const out: BlockExtent[] = [];
  for await (const e of extents(device, context, offset, length, options)) out.push(e);
  return out;
}

/** The dirty ranges of a qemu dirty bitmap: what an incremental backup copies. */
export async function dirtyRanges(
  device: NbdDevice,
  bitmap: string,
  options?: RequestOptions,
): Promise<{ offset: number; length: number }[]> {
  const out: { offset: number; length: number }[] = [];
  for await (const e of extents(device, dirtyBitmapContext(bitmap), 0, device.size, options)) {
    if (e.flags & NBD_STATE_DIRTY) out.push({ offset: e.offset, length: e.length });
  }
  return out;
}

export function isZeroExtent(e: BlockExtent): boolean {
  return (e.flags & NBD_STATE_ZERO) !== 0;
}
export function isHoleExtent(e: BlockExtent): boolean {
  return (e.flags & NBD_STATE_HOLE) !== 0;
}
