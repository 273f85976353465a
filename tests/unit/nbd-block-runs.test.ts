// Pure helpers of the incremental engine: extents re-cut at block boundaries, the all-zero
// test, and locating the first differing byte.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { blockRuns, type BlockRun } from "@/lib/nbd/client/block-runs";
import { isAllZero } from "@/lib/nbd/client/zeroes";
import { firstDifference } from "@/lib/backup/incremental/verify-extents";

const K = 1024;

describe("blockRuns", () => {
  it("makes a block zero only when all of it is zero, and merges neighbours of one kind", () => {
    const runs = blockRuns(
      [
        { offset: 0, length: 100 * K, zero: true }, // 0-64 zero, 64-128 mixed
        { offset: 100 * K, length: 28 * K, zero: false },
        { offset: 128 * K, length: 256 * K, zero: true },
        { offset: 384 * K, length: 4 * K, zero: false }, // partial last block, data
      ],
      64 * K,
    );
    expect(runs).toEqual([
      { offset: 0, length: 64 * K, zero: true },
      { offset: 64 * K, length: 64 * K, zero: false },
      { offset: 128 * K, length: 256 * K, zero: true },
      { offset: 384 * K, length: 4 * K, zero: false },
    ]);
  });

  it("starts a stream that begins inside a block at its first byte", () => {
    expect(blockRuns([{ offset: 10 * K, length: 130 * K, zero: true }], 64 * K)).toEqual([
      { offset: 10 * K, length: 130 * K, zero: true },
    ]);
    expect(() =>
      blockRuns(
        [
          { offset: 0, length: 1, zero: true },
          { offset: 2, length: 1, zero: true },
        ],
        4,
      ),
    ).toThrow("contiguous");
  });

  it("covers the stream exactly, cuts only at block boundaries, and never calls a partly data block zero", () => {
    const block = 16;
    const extentsArb = fc.array(fc.record({ length: fc.integer({ min: 1, max: 70 }), zero: fc.boolean() }), {
      minLength: 1,
      maxLength: 30,
    });
    fc.assert(
      fc.property(extentsArb, (parts) => {
        let at = 0;
        const extents: BlockRun[] = parts.map((p) => {
          const e = { offset: at, length: p.length, zero: p.zero };
          at += p.length;
          return e;
        });
        const end = at;
        const zeroAt = (byte: number) => extents.find((e) => byte >= e.offset && byte < e.offset + e.length)!.zero;
        const runs = blockRuns(extents, block);
        let pos = 0;
        runs.forEach((r, i) => {
          expect(r.offset).toBe(pos);
          expect(r.offset % block).toBe(0);
          if (i > 0) expect(r.zero).not.toBe(runs[i - 1].zero);
          for (let b = r.offset; b < r.offset + r.length; b += block) {
            let all = true;
            for (let x = b; x < Math.min(b + block, end); x += 1) all = all && zeroAt(x);
            expect(r.zero).toBe(all);
          }
          pos += r.length;
        });
        expect(pos).toBe(end);
      }),
      { numRuns: 300 },
    );
  });
});

describe("isAllZero and firstDifference", () => {
  it("tells zero buffers from others, wherever the non-zero byte is", () => {
    expect(isAllZero(Buffer.alloc(0))).toBe(true);
    expect(isAllZero(Buffer.alloc(65536))).toBe(true);
    for (const at of [0, 1, 4095, 65535]) {
      const b = Buffer.alloc(65536);
      b[at] = 1;
      expect(isAllZero(b)).toBe(false);
    }
    expect(isAllZero(Buffer.alloc(10, 7))).toBe(false);
  });

  it("finds the first differing byte", () => {
    const a = Buffer.alloc(1 << 20, 3);
    for (const at of [0, 1, 63, 64, 65, 4096, (1 << 20) - 1]) {
      const b = Buffer.from(a);
      b[at] = 4;
      b[(1 << 20) - 1] = 9;
      expect(firstDifference(a, b)).toBe(at);
    }
  });
});
