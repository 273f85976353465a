import { describe, expect, it } from "vitest";
import { KeptBytes, WrittenLog } from "@/lib/backup/incremental/verify-extents";

const KiB = 1024;
const piece = (fill: number) => Buffer.alloc(64 * KiB, fill);

describe("WrittenLog's kept bytes", () => {
  it("keeps pieces byte for byte while the shared budget lasts, digests the rest, and gives the share back on release", () => {
    const budget = new KeptBytes(192 * KiB);
    const first = new WrittenLog(budget);
    const second = new WrittenLog(budget);
    first.add(0, 64 * KiB, piece(1));
    first.add(64 * KiB, 64 * KiB, piece(2));
    second.add(0, 64 * KiB, piece(3));
    // The budget is spent: the next pieces of either log keep only a digest.
    second.add(64 * KiB, 64 * KiB, piece(4));
    first.add(128 * KiB, 64 * KiB, piece(5));
    expect([0, 1, 2].map((i) => first.bytesOf(i)?.[0] ?? null)).toEqual([1, 2, null]);
    expect([0, 1].map((i) => second.bytesOf(i)?.[0] ?? null)).toEqual([3, null]);
    // Kept or digested, a piece matches its own bytes and nothing else.
    expect(first.matches(2, piece(5))).toBe(true);
    expect(first.matches(2, piece(6))).toBe(false);
    expect(second.matches(0, piece(3))).toBe(true);
    expect(second.matches(0, piece(4))).toBe(false);

    first.release();
    expect(first.pieces).toBe(0);
    const third = new WrittenLog(budget);
    third.add(0, 64 * KiB, piece(7));
    third.add(64 * KiB, 64 * KiB, piece(8));
    third.add(128 * KiB, 64 * KiB, piece(9));
    expect([0, 1, 2].map((i) => third.bytesOf(i)?.[0] ?? null)).toEqual([7, 8, null]);
  });

  it("keeps nothing with a budget of zero, and still tells a right piece from a wrong one", () => {
    const log = new WrittenLog(0);
    log.add(0, 64 * KiB, piece(1));
    log.add(64 * KiB, 4 * KiB, null);
    expect(log.bytesOf(0)).toBeNull();
    expect(log.matches(0, piece(1))).toBe(true);
    expect(log.matches(0, piece(2))).toBe(false);
    expect(log.piece(1)).toEqual({ offset: 64 * KiB, length: 4 * KiB, zero: true });
    expect(log.bytes).toBe(68 * KiB);
  });

  it("lends the transfer buffers it then keeps without a copy, takes back those of zero pieces, and lends no more than its budget", () => {
    const budget = new KeptBytes(128 * KiB);
    const log = new WrittenLog(budget);
    const a = log.buffers.take(64 * KiB) as Buffer;
    const b = log.buffers.take(64 * KiB) as Buffer;
    expect(log.buffers.take(64 * KiB)).toBeUndefined();
    a.fill(1);
    log.add(0, 64 * KiB, a);
    // Kept as lent: the very bytes, so a later change to them is the log's own.
    expect(log.bytesOf(0)).toBe(a);
    // b read all zero: back, and lent again for the next piece.
    log.buffers.back(b);
    const c = log.buffers.take(64 * KiB) as Buffer;
    expect(c.buffer).toBe(b.buffer);
    c.fill(2);
    log.add(64 * KiB, 64 * KiB, c);
    expect(log.matches(1, piece(2))).toBe(true);
    // A piece in a buffer not lent: copied while the budget lasts, else digested.
    log.add(128 * KiB, 64 * KiB, piece(3));
    expect(log.bytesOf(2)).toBeNull();
    expect(log.matches(2, piece(3))).toBe(true);
    log.release();
    expect(budget.take(128 * KiB)).toBe(true);
  });
});
