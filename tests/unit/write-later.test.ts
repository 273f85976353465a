// The outage queue shared by the job event log and the audit trail: rows the database refused as
// unreachable wait in order (bounded, the oldest dropped) and are written when it is back.
import { describe, expect, it } from "vitest";
import { WriteLater } from "@/lib/db/write-later";

const unreachable = () => Object.assign(new Error("connect failed"), { code: "ECONNREFUSED", syscall: "connect" });

function queue(max = 3) {
  const rows: string[] = [];
  const dropped: string[] = [];
  const failed: string[] = [];
  let up = true;
  const later = new WriteLater<string>({
    max,
    write: async (row) => {
      if (!up) throw unreachable();
      if (row.startsWith("bad")) throw new Error("violates a constraint");
      rows.push(row);
    },
    onDropped: (row) => dropped.push(row),
    onFailed: (row) => failed.push(row),
  });
  return { later, rows, dropped, failed, setUp: (value: boolean) => (up = value) };
}

describe("WriteLater", () => {
  it("writes at once while the database is up; a row it rejects for another reason is lost, not kept", async () => {
    const q = queue();
    expect(await q.later.submit("a")).toBe("written");
    expect(await q.later.submit("bad-1")).toBe("failed");
    expect(q.rows).toEqual(["a"]);
    expect(q.failed).toEqual(["bad-1"]);
    expect(q.later.size).toBe(0);
  });

  it("keeps rows during an outage in order, behind the first refused one, and writes them when it is back", async () => {
    const q = queue();
    q.setUp(false);
    expect(await q.later.submit("a")).toBe("unavailable");
    q.setUp(true);
    // The database is back, but "b" must not overtake "a".
    expect(await q.later.submit("b")).toBe("queued");
    expect(q.rows).toEqual([]);
    expect(await q.later.drain()).toEqual({ written: 2, unavailable: false });
    expect(q.rows).toEqual(["a", "b"]);
    expect(q.later.size).toBe(0);
  });

  it("drops the oldest beyond its bound, and a drain stops at the next outage with the rest kept", async () => {
    const q = queue(2);
    q.setUp(false);
    await q.later.submit("a");
    await q.later.submit("bad-b");
    await q.later.submit("c");
    expect(q.dropped).toEqual(["a"]);
    expect(await q.later.drain()).toEqual({ written: 0, unavailable: true });
    expect(q.later.size).toBe(2);
    q.setUp(true);
    expect(await q.later.drain()).toEqual({ written: 1, unavailable: false });
    expect(q.failed).toEqual(["bad-b"]);
    expect(q.rows).toEqual(["c"]);
  });
});
