// Zeroes on both sides of a copy: telling that a buffer reads all zero, and making a range of
// the destination read zero (WRITE_ZEROES, or zero-filled writes when the server has none).
import type { NbdDevice, RequestOptions } from "./features";
import { splitRange } from "./ranges";

/** True when every byte is zero: the buffer equals itself shifted by one and starts with 0. */
export function isAllZero(buf: Buffer): boolean {
  if (buf.length === 0) return true;
  return buf[0] === 0 && buf.subarray(1).equals(buf.subarray(0, buf.length - 1));
}

let zeroPage = Buffer.alloc(0);
function zeroes(length: number): Buffer {
  if (zeroPage.length < length) zeroPage = Buffer.alloc(length);
  return zeroPage.subarray(0, length);
}

/**
 * Make [offset, offset + length) of the destination read zero. WRITE_ZEROES keeps the image
 * sparse; without it, zero-filled writes of at most `pieceSize` bytes do the same job.
 */
export async function makeZero(
  destination: NbdDevice,
  offset: number,
  length: number,
  pieceSize: number,
  options: RequestOptions,
): Promise<void> {
  if (destination.features.canWriteZeroes) {
    await destination.writeZeroes(offset, length, options);
    return;
  }
  for (const r of splitRange(offset, length, pieceSize)) await destination.write(r.offset, zeroes(r.length), options);
}
