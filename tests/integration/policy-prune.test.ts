// Retention + prune plan + merge on real qcow2 chains (qemu-img, qemu-io): two disks per VM,
// full and incremental points, a raw copy of every point's guest view taken when it was made.
// After each prune: every kept point, read through its chain, is identical to its copy; the
// repository folder holds exactly the kept points' files; the preview (the plan) is what
// happened; and a plan stopped half-way converges when run again.
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backingChain, describeDiskFile } from "@/lib/policy/image-info";
import { runPlan, runStep } from "@/lib/policy/merge";
import { planPrune, TEMP_SUFFIX, type ChainPoint, type PrunePlan } from "@/lib/policy/prune-plan";
import { decideRetention, type RetentionRules } from "@/lib/policy/retention";
import { filesUnder } from "../helpers/images";

const KiB = 1024;
const SIZE = 4 * 1024 * KiB;
const DISKS = ["disk0", "disk1"];
const T0 = Date.UTC(2025, 10, 20, 1, 0, 0);

let root: string;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "nbdhub-prune-"));
});
afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

type Made = { jobId: string; time: Date; full: boolean };
type Vm = { dir: string; copies: string; made: Made[]; points: () => Promise<ChainPoint[]> };

async function qemuIo(file: string, commands: string[]): Promise<void> {
  await execa("qemu-io", ["-f", "qcow2", ...commands.flatMap((c) => ["-c", c]), file]);
}

/**
 * A VM whose points are made in order (`F` full, `i` incremental on the previous point), at
 * the given hours after T0. Each point writes its own data on each disk: whole clusters,
 * partial clusters (copy-on-write from the chain) and zeroes over data written before.
 */
async function makeVm(name: string, kinds: string, hours?: number[]): Promise<Vm> {
  const dir = path.join(root, name, "repository");
  const copies = path.join(root, name, "copies");
  await fs.mkdir(copies, { recursive: true });
  const made: Made[] = [];
  for (const [i, kind] of [...kinds].entries()) {
    const jobId = `job${i + 1}`;
    const full = kind === "F";
    for (const [d, disk] of DISKS.entries()) {
      const file = path.join(dir, name, disk, `${jobId}.qcow2`);
      await fs.mkdir(path.dirname(file), { recursive: true });
      const backing = full ? [] : ["-b", path.join(dir, name, disk, `${made[i - 1].jobId}.qcow2`), "-F", "qcow2"];
      await execa("qemu-img", ["create", "-q", "-f", "qcow2", ...backing, file, String(SIZE)]);
      const pattern = ((i * 16 + d * 5 + 1) % 250) + 1;
      const cluster = (n: number) => ((i * 5 + d * 3 + n * 11) % 60) * 64 * KiB;
      const writes = [
        `write -P ${pattern} ${cluster(0)} ${64 * KiB}`,
        `write -P ${pattern + 1} ${cluster(1) + 12 * KiB} ${4 * KiB}`,
        `write -P ${pattern + 2} ${cluster(2) + 60 * KiB} ${8 * KiB}`,
      ];
      if (full) writes.push(`write -P ${pattern + 3} 0 ${256 * KiB}`);
      else writes.push(`write -z ${(i % 4) * 64 * KiB} ${32 * KiB}`);
      await qemuIo(file, writes);
      await execa("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", file, path.join(copies, `${jobId}-${disk}.raw`)]);
    }
    made.push({ jobId, time: new Date(T0 + (hours?.[i] ?? i) * 3_600_000), full });
  }
  const vm: Vm = { dir, copies, made, points: async () => [] };
  vm.points = async () =>
    Promise.all(
      vm.made.map(async (m) => ({
        jobId: m.jobId,
        disks: await Promise.all(
          DISKS.map((disk) => describeDiskFile(disk, path.join(dir, name, disk, `${m.jobId}.qcow2`))),
        ),
      })),
    );
  return vm;
}

async function planFor(vm: Vm, rules: RetentionRules, options: { allowCommit?: boolean } = {}): Promise<PrunePlan> {
  const decisions = decideRetention(vm.made, rules, { timeZone: "UTC" });
  return planPrune(await vm.points(), decisions, options);
}

async function identical(raw: string, qcow2: string): Promise<boolean> {
  const r = await execa("qemu-img", ["compare", "-q", "-f", "raw", "-F", "qcow2", raw, qcow2], { reject: false });
  return r.exitCode === 0;
}

/** What a user could check after a prune: kept points intact, nothing else left, as previewed. */
async function expectPruned(vm: Vm, plan: PrunePlan, keptJobs: string[]): Promise<void> {
  expect(plan.keep.map((k) => k.jobId).sort()).toEqual([...keptJobs].sort());
  for (const jobId of keptJobs) {
    for (const disk of DISKS) {
      const file = path.join(vm.dir, path.basename(path.dirname(vm.dir)), disk, `${jobId}.qcow2`);
      const same = await identical(path.join(vm.copies, `${jobId}-${disk}.raw`), file);
      expect(same, `${jobId} ${disk} reads as when it was made`).toBe(true);
    }
  }
  const files = (await filesUnder(vm.dir)).sort();
  // The preview's final files are exactly what is there: no file of a removed point, no temp file.
  expect(files).toEqual(plan.finalFiles);
  // And every file belongs to a kept point: it is in the backing chain of one.
  const inChains = new Set<string>();
  for (const file of plan.finalFiles) for (const f of await backingChain(file)) inChains.add(f);
  expect([...inChains].sort()).toEqual(files);
}

describe("prune on real chains", () => {
  it("keepLast 3 with a full every 3 over seven points leaves three points, each as it was", async () => {
    const vm = await makeVm("seven", "FiiFiiF");
    const plan = await planFor(vm, { keepLast: 3 });
    // The preview: which go, which stay and why, which are merged.
    expect(plan.remove.map((r) => r.jobId)).toEqual(["job1", "job2", "job3", "job4"]);
    expect(plan.keep).toEqual([
      { jobId: "job5", reasons: ["keep-last 3"] },
      { jobId: "job6", reasons: ["keep-last 2"] },
      { jobId: "job7", reasons: ["keep-last 1"] },
    ]);
    expect(plan.merged).toEqual(["job4"]);
    expect(plan.steps.map((s) => s.kind)).toEqual([...Array(6).fill("delete"), "commit", "commit"]);

    const run = await runPlan(plan);
    expect(run.error).toBeUndefined();
    expect(run.complete).toBe(true);
    await expectPruned(vm, plan, ["job5", "job6", "job7"]);
    // job5 absorbed the full: it stands alone now, and job6 still stands on it.
    const job5 = await describeDiskFile("disk0", path.join(vm.dir, "seven", "disk0", "job5.qcow2"));
    expect(job5.backingFile).toBeNull();

    // Pruning again with the same rules removes nothing, and running the plan again does nothing.
    vm.made = vm.made.filter((m) => ["job5", "job6", "job7"].includes(m.jobId));
    const replanned = await planFor(vm, { keepLast: 3 });
    expect(replanned.steps).toEqual([]);
    expect(replanned.finalFiles).toEqual(plan.finalFiles);
    const again = await runPlan(plan);
    expect(again.complete).toBe(true);
    expect(again.results.every((r) => r.outcome === "already done")).toBe(true);
  });

  it("removing a middle point rebases its child onto the point below it", async () => {
    // job2 and job3 are on the same day: keep-daily keeps the newer, job3.
    const vm = await makeVm("middle", "Fiii", [0, 24, 30, 48]);
    const plan = await planFor(vm, { keepDaily: 5 });
    expect(plan.remove).toEqual([
      { jobId: "job2", reason: "not selected by any rule (keep-daily keeps the newer job3 for 2025-11-21)" },
    ]);
    expect(plan.steps.map((s) => `${s.kind} ${s.jobId}`)).toEqual([
      "rebase job3",
      "rebase job3",
      "delete job2",
      "delete job2",
    ]);
    const run = await runPlan(plan);
    expect(run.error).toBeUndefined();
    expect(run.complete).toBe(true);
    await expectPruned(vm, plan, ["job1", "job3", "job4"]);
    const job3 = await describeDiskFile("disk1", path.join(vm.dir, "middle", "disk1", "job3.qcow2"));
    expect(job3.backingFile).toBe(path.join(vm.dir, "middle", "disk1", "job1.qcow2"));
  });

  it.each([
    ["a commit into the full, which then replaces the child", true, "commit"],
    ["a rebase of the child onto nothing (commit not allowed)", false, "rebase"],
  ])("removing a full whose children are kept: %s", async (_what, allowCommit, kind) => {
    const vm = await makeVm(`full-${kind}`, "Fii");
    const plan = await planFor(vm, { keepLast: 2 }, { allowCommit });
    expect(plan.remove.map((r) => r.jobId)).toEqual(["job1"]);
    expect(plan.merged).toEqual(["job1"]);
    expect(plan.steps.filter((s) => s.kind !== "delete").map((s) => s.kind)).toEqual([kind, kind]);
    const run = await runPlan(plan);
    expect(run.error).toBeUndefined();
    expect(run.complete).toBe(true);
    await expectPruned(vm, plan, ["job2", "job3"]);
  });

  it("removing a whole old chain only deletes its files", async () => {
    const vm = await makeVm("chains", "FiFi");
    const plan = await planFor(vm, { keepLast: 2 });
    expect(plan.steps.map((s) => `${s.kind} ${s.jobId} ${s.diskId}`)).toEqual([
      "delete job2 disk0",
      "delete job2 disk1",
      "delete job1 disk0",
      "delete job1 disk1",
    ]);
    expect(plan.merged).toEqual([]);
    const run = await runPlan(plan);
    expect(run.error).toBeUndefined();
    expect(run.complete).toBe(true);
    await expectPruned(vm, plan, ["job3", "job4"]);
  });

  // Stopped half-way: a delete done, a commit without its rename, a half-made rebase copy left.
  it("a plan stopped half-way converges when run again", async () => {
    const vm = await makeVm("crash", "FiiFiiF");
    const plan = await planFor(vm, { keepLast: 3 });
    // The crash: the first delete ran; the commit of disk0 ran but its rename did not.
    await runStep(plan.steps[0], 0);
    const commit = plan.steps.find((s) => s.kind === "commit");
    if (commit?.kind !== "commit") throw new Error("the plan has no commit");
    await execa("qemu-img", ["commit", "-q", "-f", "qcow2", "-b", commit.base, commit.top]);
    const run = await runPlan(plan);
    expect(run.error).toBeUndefined();
    expect(run.results[0].outcome).toBe("already done");
    await expectPruned(vm, plan, ["job5", "job6", "job7"]);

    // The same with rebases: a stale half-made copy beside the child is replaced, not trusted.
    const vm2 = await makeVm("crash-rebase", "FiiFiiF");
    const plan2 = await planFor(vm2, { keepLast: 3 }, { allowCommit: false });
    const rebase = plan2.steps.find((s) => s.kind === "rebase");
    if (rebase?.kind !== "rebase") throw new Error("the plan has no rebase");
    await fs.writeFile(rebase.temp, "half a copy");
    const stopped = await runPlan(plan2, { maxMerges: 1 });
    expect(stopped.complete).toBe(false);
    expect(stopped.error).toBeUndefined();
    const rest = await runPlan(plan2);
    expect(rest.error).toBeUndefined();
    expect(rest.complete).toBe(true);
    expect(rest.results.filter((r) => r.kind === "rebase").map((r) => r.outcome)).toEqual(["already done", "done"]);
    await expectPruned(vm2, plan2, ["job5", "job6", "job7"]);
  });

  it("never deletes a file a kept point still stands on, and never starts a merge that may not fit", async () => {
    const vm = await makeVm("guards", "Fii");
    const plan = await planFor(vm, { keepLast: 2 }, { allowCommit: false });
    const before = (await filesUnder(vm.dir)).sort();
    // A plan whose merges were lost: its deletes must refuse.
    const deletesOnly: PrunePlan = { ...plan, steps: plan.steps.filter((s) => s.kind === "delete") };
    const refused = await runPlan(deletesOnly);
    expect(refused.complete).toBe(false);
    expect(refused.error?.message).toMatch(/job2\.qcow2 still stands on .*job1\.qcow2: not deleted/);
    // A merge that would not leave the reserve free is refused before it writes anything.
    const full = await runPlan(plan, { reserveBytes: Number.MAX_SAFE_INTEGER / 2 });
    expect(full.error?.message).toMatch(/not enough free space in .*: the merge may need .* MiB are missing/);
    expect((await filesUnder(vm.dir)).sort()).toEqual(before);
    for (const jobId of ["job1", "job2", "job3"]) {
      const file = path.join(vm.dir, "guards", "disk0", `${jobId}.qcow2`);
      expect(await identical(path.join(vm.copies, `${jobId}-disk0.raw`), file), `${jobId} unchanged`).toBe(true);
    }
    // And a repository that changed under the plan stops it: nothing is guessed.
    const job2 = path.join(vm.dir, "guards", "disk0", "job2.qcow2");
    const job3 = path.join(vm.dir, "guards", "disk0", "job3.qcow2");
    await execa("qemu-img", ["rebase", "-q", "-u", "-f", "qcow2", "-b", job3, "-F", "qcow2", job2]);
    const changed = await runPlan(plan);
    expect(changed.error?.message).toMatch(/the files are not as the plan expects/);
    expect(await fs.stat(`${job2}${TEMP_SUFFIX}`).catch(() => null)).toBeNull();
  });

  it("keeps a point whose merge qemu 7.2 cannot do safely (the disk grew) and touches nothing", async () => {
    const vm = await makeVm("grown", "Fi");
    // job3 stands on job2 but its disk0 is twice as large.
    for (const disk of DISKS) {
      const file = path.join(vm.dir, "grown", disk, "job3.qcow2");
      const size = disk === "disk0" ? 2 * SIZE : SIZE;
      const backing = path.join(vm.dir, "grown", disk, "job2.qcow2");
      await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", file, String(size)]);
      // disk0 writes into its new part, disk1 over old data.
      await qemuIo(file, [`write -P 9 ${disk === "disk0" ? SIZE + 64 * KiB : 0} ${64 * KiB}`]);
      await execa("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", file, path.join(vm.copies, `job3-${disk}.raw`)]);
    }
    vm.made.push({ jobId: "job3", time: new Date(T0 + 2 * 3_600_000), full: false });
    const plan = await planFor(vm, { keepLast: 1 });
    // job1 and job2 are what job3 stands on: merging them would rebase a grown image.
    expect(plan.remove).toEqual([]);
    expect(plan.steps).toEqual([]);
    expect(plan.keep.find((k) => k.jobId === "job2")?.reasons[0]).toMatch(
      /^kept although not selected by any rule: disk disk0 changed size/,
    );
    expect((await runPlan(plan)).complete).toBe(true);
    await expectPruned(vm, plan, ["job1", "job2", "job3"]);
  });
});
