import { describe, expect, it } from "vitest";
import { Scratch } from "@/lib/nbd/client/scratch";

describe("Scratch (a transfer worker's reused buffer)", () => {
  it("holds only as much as the largest piece asked for, and reuses it for smaller ones", () => {
    const s = new Scratch();
    expect(s.capacity).toBe(0);
    const a = s.view(65536);
    expect(a.length).toBe(65536);
    expect(s.capacity).toBe(65536); // not the transfer's 4 MiB maximum
    a.fill(7);
    const b = s.view(4096);
    expect(b.length).toBe(4096);
    expect(b.buffer).toBe(a.buffer); // the same memory, no new allocation
    expect(b[0]).toBe(7);
    const c = s.view(131072);
    expect(c.length).toBe(131072);
    expect(s.capacity).toBe(131072);
    expect(s.view(0).length).toBe(0);
  });
});
