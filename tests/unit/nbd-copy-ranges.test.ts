// copy() of many scattered ranges (an incremental's dirty extents), against in-memory devices:
// every byte of every range arrives, zero extents become WRITE_ZEROES, nothing outside the
// ranges is touched, and the source's base:allocation is walked once over the ranges' span
// rather than once per range (one awaited round trip per 64 KiB range was most of a
// changed-blocks copy's time, issue 13).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BASE_ALLOCATION } from "@/lib/nbd/client/block-status";
import { copy } from "@/lib/nbd/client/copy";
import type { BlockExtent, NbdDevice } from "@/lib/nbd/client/features";
import { NBD_STATE_HOLE, NBD_STATE_ZERO } from "@/lib/nbd/client/protocol";
import type { Range } from "@/lib/nbd/client/ranges";

const K = 1024;

type Fake = NbdDevice & { data: Buffer; statusCalls: number; zeroed: Range[] };

/** A device over a buffer; `zeroRuns` are reported as zero extents; replies hold at most `cap` extents. */
function fakeDevice(data: Buffer, zeroRuns: Range[] = [], cap = 4): Fake {
  const isZero = (at: number) => zeroRuns.some((r) => at >= r.offset && at < r.offset + r.length);
  const device: Fake = {
    data,
    statusCalls: 0,
    zeroed: [],
    exportName: "fake",
    size: data.length,
    features: {
      readOnly: false,
      canFlush: true,
      canFua: false,
      canTrim: true,
      canWriteZeroes: true,
      canFastZero: false,
      canMultiConn: false,
      canCache: false,
      canDf: false,
      rotational: false,
      canBlockStatus: true,
    },
    blockSize: { minimum: 1, preferred: 4096, maximum: 32 * 1024 * 1024 },
    metaContexts: new Map([[BASE_ALLOCATION, 1]]),
    async read(offset, length) {
      return Buffer.from(data.subarray(offset, offset + length));
    },
    async readInto(offset, target) {
      data.copy(target, 0, offset, offset + target.length);
    },
    async write(offset, chunk) {
      chunk.copy(data, offset);
    },
    async writeZeroes(offset, length) {
      data.fill(0, offset, offset + length);
      device.zeroed.push({ offset, length });
    },
    async trim() {},
    async flush() {},
    async blockStatus(offset, length) {
      device.statusCalls += 1;
      const out: BlockExtent[] = [];
      // Extents of 4 KiB granularity, merged by kind, at most `cap` per reply (as qemu caps them).
      for (let at = offset; at < offset + length && out.length <= cap;) {
        const zero = isZero(at);
        let end = at;
        while (end < offset + length && isZero(end) === zero) end += 4 * K;
        out.push({ offset: at, length: end - at, flags: zero ? NBD_STATE_ZERO | NBD_STATE_HOLE : 0 });
        at = end;
      }
      return out.slice(0, cap);
    },
    async disconnect() {},
  };
  return device;
}

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) b[i] = (i * 31 + seed) % 251 || 1;
  return b;
}

describe("copy() of many ranges", () => {
  it("walks base:allocation once over the span of 5 % scattered 64 KiB ranges, and copies each exactly", async () => {
    const size = 64 * 1024 * K; // 64 MiB: 1024 blocks of 64 KiB
    const zeroRuns = [{ offset: 8 * 1024 * K, length: 2 * 1024 * K }];
    const srcData = pattern(size, 7);
    srcData.fill(0, zeroRuns[0].offset, zeroRuns[0].offset + zeroRuns[0].length);
    const source = fakeDevice(srcData, zeroRuns);
    const destination = fakeDevice(Buffer.alloc(size, 0xee));
    const ranges: Range[] = [];
    for (let block = 0; block < 1024; block += 19) ranges.push({ offset: block * 64 * K, length: 64 * K });
    const result = await copy(source, destination, { ranges, destinationIsZero: false });
    // Before: one BLOCK_STATUS per range (54 here; 819 for 5 % of 1 GiB).
    expect(source.statusCalls).toBeLessThanOrEqual(4);
    for (const r of ranges) {
      expect(
        destination.data
          .subarray(r.offset, r.offset + r.length)
          .equals(srcData.subarray(r.offset, r.offset + r.length)),
      ).toBe(true);
    }
    const inRange = (at: number) => ranges.some((r) => at >= r.offset && at < r.offset + r.length);
    for (let at = 0; at < size; at += 4 * K) if (!inRange(at)) expect(destination.data[at]).toBe(0xee);
    expect(result.bytesWritten + result.bytesZeroed).toBe(ranges.length * 64 * K);
    expect(destination.zeroed.length).toBeGreaterThan(0);
  });

  it("copies exactly the ranges for any ranges and zero extents", async () => {
    const size = 256 * K;
    const rangesArb = fc
      .uniqueArray(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 20 })
      .map((blocks) => blocks.sort((a, b) => a - b).map((b) => ({ offset: b * 4 * K, length: 4 * K })));
    const zerosArb = fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { maxLength: 20 });
    await fc.assert(
      fc.asyncProperty(rangesArb, zerosArb, fc.integer({ min: 1, max: 5 }), async (ranges, zeroBlocks, cap) => {
        const zeroRuns = zeroBlocks.map((b) => ({ offset: b * 4 * K, length: 4 * K }));
        const srcData = pattern(size, 3);
        for (const z of zeroRuns) srcData.fill(0, z.offset, z.offset + z.length);
        const destination = fakeDevice(Buffer.alloc(size, 0xee));
        await copy(fakeDevice(srcData, zeroRuns, cap), destination, { ranges, requestSize: 8 * K });
        const expected = Buffer.alloc(size, 0xee);
        for (const r of ranges) srcData.copy(expected, r.offset, r.offset, r.offset + r.length);
        expect(destination.data.equals(expected)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
