// Rows submitted at the same moment go to the database together (the audit trail's writer):
// one write per batch, each caller told its own row's fate.
import { describe, expect, it } from "vitest";
import { GroupWrite } from "@/lib/db/group-write";

const unreachable = () => Object.assign(new Error("connect failed"), { code: "ECONNREFUSED", syscall: "connect" });

function writer(fail: (rows: string[]) => Error | undefined = () => undefined) {
  const calls: string[][] = [];
  const group = new GroupWrite<string>(async (rows) => {
    calls.push(rows);
    await Promise.resolve();
    const error = fail(rows);
    if (error) throw error;
  });
  return { group, calls };
}

describe("GroupWrite", () => {
  it("writes a lone row at once, and the rows that arrive meanwhile in one write", async () => {
    const { group, calls } = writer();
    await Promise.all(["a", "b", "c", "d"].map((row) => group.submit(row)));
    expect(calls).toEqual([["a"], ["b", "c", "d"]]);
    await group.submit("e");
    expect(calls.at(-1)).toEqual(["e"]);
  });

  it("writes a refused batch again row by row: only the bad row fails", async () => {
    const { group, calls } = writer((rows) => (rows.includes("bad") ? new Error("violates a constraint") : undefined));
    const results = await Promise.allSettled(["a", "b", "bad", "c"].map((row) => group.submit(row)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect(calls).toEqual([["a"], ["b", "bad", "c"], ["b"], ["bad"], ["c"]]);
  });

  it("tells every row of a batch that the database is unreachable, without retrying one by one", async () => {
    const { group, calls } = writer(() => unreachable());
    const results = await Promise.allSettled(["a", "b", "c"].map((row) => group.submit(row)));
    expect(
      results.every((r) => r.status === "rejected" && (r.reason as { code?: string }).code === "ECONNREFUSED"),
    ).toBe(true);
    expect(calls).toEqual([["a"], ["b", "c"]]);
  });

  it("gives each caller its own item's result when the write answers one per item", async () => {
    const calls: string[][] = [];
    const group = new GroupWrite<string, string>(async (rows) => {
      calls.push(rows);
      await Promise.resolve();
      return rows.map((r) => r.toUpperCase());
    });
    expect(await Promise.all(["a", "b", "c"].map((row) => group.submit(row)))).toEqual(["A", "B", "C"]);
    expect(calls).toEqual([["a"], ["b", "c"]]);
  });
});
