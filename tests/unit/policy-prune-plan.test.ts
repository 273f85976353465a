// lib/policy/prune-plan.ts: the steps that apply a retention decision to chains of qcow2 files
// while every kept point stays restorable. Pure; the real images are in
// tests/integration/policy-prune.test.ts.
import { describe, expect, it } from "vitest";
import { planPrune, TEMP_SUFFIX, type ChainPoint, type PruneStep } from "@/lib/policy/prune-plan";
import type { RetentionDecision } from "@/lib/policy/retention";

const GiB = 1024 ** 3;
const file = (disk: string, job: string) => `/repo/vm/${disk}/${job}.qcow2`;

/** Points whose disks all follow one pattern: each job stands on `parent` (null: a full). */
function chainPoints(layout: Array<[job: string, parent: string | null]>, disks = ["d0"], size = GiB): ChainPoint[] {
  return layout.map(([job, parent]) => ({
    jobId: job,
    disks: disks.map((d) => ({
      diskId: d,
      file: file(d, job),
      backingFile: parent ? file(d, parent) : null,
      virtualSize: size,
    })),
  }));
}

function decide(jobs: string[], keep: string[]): RetentionDecision[] {
  return jobs.map((j) => ({
    jobId: j,
    keep: keep.includes(j),
    reasons: [keep.includes(j) ? "keep-last" : "not selected by any rule"],
  }));
}

/** Steps in a short form: "delete d0/j1", "rebase d0/j3 onto j1", "commit d0/j5 into j4". */
function brief(steps: PruneStep[]): string[] {
  const name = (f: string | null) =>
    f === null ? "nothing" : f.replace(/^\/repo\/vm\/[^/]+\//, "").replace(".qcow2", "");
  return steps.map((s) => {
    if (s.kind === "delete") return `delete ${s.diskId}/${name(s.file)}`;
    if (s.kind === "rebase") return `rebase ${s.diskId}/${name(s.child)} onto ${name(s.newBacking)}`;
    return `commit ${s.diskId}/${name(s.top)} into ${name(s.base)}`;
  });
}

const SEVEN: Array<[string, string | null]> = [
  ["j1", null],
  ["j2", "j1"],
  ["j3", "j2"],
  ["j4", null],
  ["j5", "j4"],
  ["j6", "j5"],
  ["j7", null],
];
const JOBS7 = SEVEN.map(([j]) => j);

describe("planPrune", () => {
  it("keepLast 3 with a full every 3 over seven points: deletes the old chain, commits j5 into the full j4", () => {
    const plan = planPrune(chainPoints(SEVEN), decide(JOBS7, ["j5", "j6", "j7"]));
    expect(brief(plan.steps)).toEqual(["delete d0/j3", "delete d0/j2", "delete d0/j1", "commit d0/j5 into j4"]);
    expect(plan.remove.map((r) => r.jobId)).toEqual(["j1", "j2", "j3", "j4"]);
    expect(plan.keep).toEqual([
      { jobId: "j5", reasons: ["keep-last"] },
      { jobId: "j6", reasons: ["keep-last"] },
      { jobId: "j7", reasons: ["keep-last"] },
    ]);
    expect(plan.merged).toEqual(["j4"]);
    expect(plan.finalFiles).toEqual(["j5", "j6", "j7"].map((j) => file("d0", j)));
    expect(plan.removedFiles).toEqual(["j1", "j2", "j3", "j4"].map((j) => file("d0", j)));
    const commit = plan.steps[3];
    expect(commit).toMatchObject({
      kind: "commit",
      jobId: "j5",
      top: file("d0", "j5"),
      base: file("d0", "j4"),
      intermediates: [],
      absorbsJobs: ["j4"],
      before: [
        { file: file("d0", "j5"), exists: true, backing: file("d0", "j4") },
        { file: file("d0", "j4"), exists: true, backing: null },
      ],
      after: [
        { file: file("d0", "j5"), exists: true, backing: null },
        { file: file("d0", "j4"), exists: false },
      ],
    });
  });

  it("the same with commit not allowed: j5 absorbs the full by a rebase onto nothing, then the full goes", () => {
    const plan = planPrune(chainPoints(SEVEN), decide(JOBS7, ["j5", "j6", "j7"]), { allowCommit: false });
    expect(brief(plan.steps)).toEqual([
      "delete d0/j3",
      "delete d0/j2",
      "delete d0/j1",
      "rebase d0/j5 onto nothing",
      "delete d0/j4",
    ]);
    expect(plan.steps[3]).toMatchObject({ temp: `${file("d0", "j5")}${TEMP_SUFFIX}`, absorbs: [file("d0", "j4")] });
    expect(plan.steps[4]).toMatchObject({ guards: [file("d0", "j5")] });
  });

  it("removing a middle point rebases its child onto its own backing file, then deletes it", () => {
    const layout: Array<[string, string | null]> = [
      ["j1", null],
      ["j2", "j1"],
      ["j3", "j2"],
      ["j4", "j3"],
    ];
    const plan = planPrune(chainPoints(layout, ["d0", "d1"]), decide(["j1", "j2", "j3", "j4"], ["j1", "j3", "j4"]));
    expect(brief(plan.steps)).toEqual(["rebase d0/j3 onto j1", "rebase d1/j3 onto j1", "delete d0/j2", "delete d1/j2"]);
    expect(plan.steps[0]).toMatchObject({
      kind: "rebase",
      jobId: "j3",
      child: file("d0", "j3"),
      oldBacking: file("d0", "j2"),
      newBacking: file("d0", "j1"),
      absorbsJobs: ["j2"],
      before: [{ file: file("d0", "j3"), exists: true, backing: file("d0", "j2") }],
      after: [{ file: file("d0", "j3"), exists: true, backing: file("d0", "j1") }],
    });
    expect(plan.steps[2]).toMatchObject({
      guards: [file("d0", "j3")],
      before: [{ exists: true, backing: file("d0", "j1") }],
    });
    expect(plan.merged).toEqual(["j2"]);
  });

  it("two removed points in a row between kept ones: one rebase absorbs both, deletes go top down", () => {
    const layout: Array<[string, string | null]> = [
      ["j1", null],
      ["j2", "j1"],
      ["j3", "j2"],
      ["j4", "j3"],
    ];
    const plan = planPrune(chainPoints(layout), decide(["j1", "j2", "j3", "j4"], ["j1", "j4"]));
    expect(brief(plan.steps)).toEqual(["rebase d0/j4 onto j1", "delete d0/j3", "delete d0/j2"]);
    expect(plan.steps[0]).toMatchObject({ absorbs: [file("d0", "j3"), file("d0", "j2")], absorbsJobs: ["j3", "j2"] });
  });

  it("a removed full and incremental under a kept point: one commit of the chain into the full", () => {
    const layout: Array<[string, string | null]> = [
      ["j1", null],
      ["j2", "j1"],
      ["j3", "j2"],
    ];
    const plan = planPrune(chainPoints(layout), decide(["j1", "j2", "j3"], ["j3"]));
    expect(brief(plan.steps)).toEqual(["commit d0/j3 into j1", "delete d0/j2"]);
    expect(plan.steps[0]).toMatchObject({ intermediates: [file("d0", "j2")], absorbsJobs: ["j2", "j1"] });
    expect(plan.merged).toEqual(["j1", "j2"]);
  });

  it("a whole old chain with nothing kept is deleted, descendants first, and nothing is merged", () => {
    const layout: Array<[string, string | null]> = [
      ["j1", null],
      ["j2", "j1"],
      ["j3", null],
      ["j4", "j3"],
    ];
    const plan = planPrune(chainPoints(layout), decide(["j1", "j2", "j3", "j4"], ["j3", "j4"]));
    expect(brief(plan.steps)).toEqual(["delete d0/j2", "delete d0/j1"]);
    expect(plan.merged).toEqual([]);
  });

  it("a chain's tail is just deleted", () => {
    const layout: Array<[string, string | null]> = [
      ["j1", null],
      ["j2", "j1"],
      ["j3", "j2"],
    ];
    const plan = planPrune(chainPoints(layout), decide(["j1", "j2", "j3"], ["j1"]));
    expect(brief(plan.steps)).toEqual(["delete d0/j3", "delete d0/j2"]);
  });

  it("a removed full with two kept children: each absorbs it by a rebase (a commit would break the other)", () => {
    const layout: Array<[string, string | null]> = [
      ["f", null],
      ["a", "f"],
      ["b", "f"],
    ];
    const plan = planPrune(chainPoints(layout), decide(["f", "a", "b"], ["a", "b"]));
    expect(brief(plan.steps)).toEqual(["rebase d0/a onto nothing", "rebase d0/b onto nothing", "delete d0/f"]);
    expect(plan.steps[2]).toMatchObject({ guards: [file("d0", "a"), file("d0", "b")] });
  });

  it("keeps a point whose merge qemu 7.2 cannot do safely (a grown disk), on every disk, and says why", () => {
    const points = chainPoints(
      [
        ["j1", null],
        ["j2", "j1"],
        ["j3", "j2"],
      ],
      ["d0", "d1"],
    );
    points[2].disks[1].virtualSize = 2 * GiB; // d1 grew at j3
    const plan = planPrune(points, decide(["j1", "j2", "j3"], ["j1", "j3"]));
    expect(plan.steps).toEqual([]);
    expect(plan.remove).toEqual([]);
    expect(plan.keep.find((k) => k.jobId === "j2")?.reasons).toEqual([
      `kept although not selected by any rule: disk d1 changed size along the chain (${GiB} to ${2 * GiB} bytes): ` +
        "a qemu-img rebase of an image larger than its old backing file can loop for ever on qemu 7.2, " +
        "so it is not merged",
    ]);
  });

  it("a refused merge keeps its whole segment; the rest of the plan still runs", () => {
    // j3 grew: j1 and j2 under it stay; the older chain j4 <- j5 is pruned as planned.
    const points = chainPoints([
      ["j4", null],
      ["j5", "j4"],
      ["j1", null],
      ["j2", "j1"],
      ["j3", "j2"],
    ]);
    points[4].disks[0].virtualSize = 2 * GiB;
    const plan = planPrune(points, decide(["j4", "j5", "j1", "j2", "j3"], ["j3"]));
    expect(plan.keep.map((k) => k.jobId)).toEqual(["j1", "j2", "j3"]);
    expect(plan.remove.map((k) => k.jobId)).toEqual(["j4", "j5"]);
    expect(brief(plan.steps)).toEqual(["delete d0/j5", "delete d0/j4"]);
  });

  it("refuses a merge onto a file outside the plan, but deletes what nothing stands on", () => {
    const points: ChainPoint[] = [
      {
        jobId: "j1",
        disks: [{ diskId: "d0", file: file("d0", "j1"), backingFile: "/elsewhere/base.qcow2", virtualSize: GiB }],
      },
      {
        jobId: "j2",
        disks: [{ diskId: "d0", file: file("d0", "j2"), backingFile: file("d0", "j1"), virtualSize: GiB }],
      },
    ];
    const plan = planPrune(points, decide(["j1", "j2"], ["j2"]));
    expect(plan.steps).toEqual([]);
    expect(plan.keep[0].reasons[0]).toMatch(/stands on \/elsewhere\/base\.qcow2, a file outside this VM's points/);
    expect(brief(planPrune(points, decide(["j1", "j2"], ["j1"])).steps)).toEqual(["delete d0/j2"]);
  });

  it("keeping everything plans nothing", () => {
    const plan = planPrune(chainPoints(SEVEN), decide(JOBS7, JOBS7));
    expect(plan.steps).toEqual([]);
    expect(plan.finalFiles).toHaveLength(7);
  });

  it("refuses input it cannot plan for, with a sentence", () => {
    const points = chainPoints([
      ["j1", null],
      ["j2", "j1"],
    ]);
    expect(() => planPrune(points, decide(["j1"], ["j1"]))).toThrow("point j2 has no retention decision");
    const relative = chainPoints([["j1", null]]);
    relative[0].disks[0].file = "vm/d0/j1.qcow2";
    expect(() => planPrune(relative, decide(["j1"], []))).toThrow(/must be absolute paths/);
    const loop = chainPoints([
      ["j1", "j2"],
      ["j2", "j1"],
    ]);
    expect(() => planPrune(loop, decide(["j1", "j2"], ["j2"]))).toThrow(/loops/);
    const twice = chainPoints([
      ["j1", null],
      ["j2", null],
    ]);
    twice[1].disks[0].file = twice[0].disks[0].file;
    expect(() => planPrune(twice, decide(["j1", "j2"], ["j2"]))).toThrow(/belongs to two points/);
  });
});
