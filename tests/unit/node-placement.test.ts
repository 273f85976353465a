// Placement (decision 032): the answering node when it qualifies (up, free ports, repository
// space), else the least loaded node that does, else the least loaded live node; never a lost one.
import { describe, expect, it } from "vitest";
import { chooseNode, qualifies, type Candidate } from "@/lib/node/placement";

const node = (name: string, over: Partial<Candidate> = {}): Candidate => ({
  name,
  status: "up",
  freePorts: 4,
  freeBytes: 1e12,
  load: 0,
  ...over,
});
const need = { ports: 1, bytes: 1e9 };

describe("placement", () => {
  it("keeps the job on the answering node when it qualifies, even when others are less loaded", () => {
    expect(chooseNode([node("a", { load: 3 }), node("b"), node("c")], "a", need)).toBe("a");
  });

  it("else the least loaded node that qualifies, then the one with more free ports, then by name", () => {
    const full = node("a", { freePorts: 0 });
    expect(chooseNode([full, node("b", { load: 2 }), node("c", { load: 1 })], "a", need)).toBe("c");
    expect(chooseNode([full, node("b", { load: 1, freePorts: 2 }), node("c", { load: 1 })], "a", need)).toBe("c");
    expect(chooseNode([full, node("c", { load: 1 }), node("b", { load: 1 })], "a", need)).toBe("b");
  });

  it("counts ports and repository space; an unknown free space does not count against a node", () => {
    expect(qualifies(node("a", { freePorts: 1 }), { ports: 2, bytes: 0 })).toBe(false);
    expect(qualifies(node("a", { freeBytes: 10 }), { ports: 1, bytes: 11 })).toBe(false);
    expect(qualifies(node("a", { freeBytes: null }), { ports: 1, bytes: 11 })).toBe(true);
    const small = node("a", { freeBytes: 5e8 });
    expect(chooseNode([small, node("b", { load: 5 })], "a", need)).toBe("b");
  });

  it("never a lost node; when none qualifies, the least loaded live node (it queues there)", () => {
    const lost = node("a", { status: "lost" });
    expect(chooseNode([lost, node("b", { load: 1 })], "a", need)).toBe("b");
    const busy = [node("a", { freePorts: 0, load: 4 }), node("b", { freePorts: 0, load: 2 }), lost];
    expect(chooseNode(busy, "a", need)).toBe("b");
    expect(chooseNode([lost], "b", need)).toBeNull();
    expect(chooseNode([], "b", need)).toBeNull();
  });
});
