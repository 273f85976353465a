// The incremental engine end to end with real qemu-img, qemu-io and qemu-nbd: one full backup
// and four incrementals of a 128 MiB disk, about 2 % changed each time at scattered, unaligned
// offsets. Each incremental must move only what changed (at most 1.1 × the changed bytes), make
// an overlay of about that size, verify its written extents by reading them back, and read,
// through its backing chain, exactly as the source did when the point was made.
import { mkdtemp, rm, truncate } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addBitmap, checkBitmap, listBitmaps, removeBitmap } from "@/lib/backup/bitmaps";
import { bitmapNameOf } from "@/lib/backup/incremental/bitmap-names";
import { copyChangedBlocks, changedBlocksContexts } from "@/lib/backup/incremental/changed-blocks";
import { planCopy, type CopyPlan, type PreviousPoint, type SourceFacts } from "@/lib/backup/incremental/plan";
import { connect } from "@/lib/nbd/client";
import { makeImage } from "../helpers/images";
import {
  CLUSTER,
  MiB,
  actualSize,
  applyWrites,
  compareWithPoint,
  createOverlay,
  differingBlockBytes,
  dirtyBytesOf,
  ioCommands,
  runIncremental,
  scatteredWrites,
  snapshot,
  virtualSize,
  type RunOutcome,
} from "../helpers/incremental-chain";
import { startQemuNbd } from "../helpers/qemu-nbd-server";
import { waitFor } from "../helpers/wait";

const SIZE = 128 * MiB;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-chain-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Bytes a fresh overlay of this disk takes before any write: the qcow2 metadata allowance. */
async function emptyOverlaySize(work: string, backing: string, size: number): Promise<number> {
  const file = path.join(work, "empty-overlay.qcow2");
  await createOverlay(file, backing, size);
  const bytes = await actualSize(file);
  await rm(file);
  // An L2 table and a refcount block may be added as clusters get allocated.
  return bytes + 2 * CLUSTER;
}

/** The size and write-amplification promises of one incremental, then the chain compare. */
async function expectGoodPoint(outcome: RunOutcome, point: string, truth: string, metadata: number) {
  expect(outcome.bytesWritten + outcome.bytesZeroed).toBeLessThanOrEqual(1.1 * outcome.changedBytes);
  expect(await actualSize(point)).toBeLessThanOrEqual(1.2 * outcome.changedBytes + metadata);
  expect(outcome.verified).toMatchObject({ identical: true });
  const cmp = await compareWithPoint(truth, point);
  expect(cmp.exitCode, cmp.output).toBe(0);
  // Bitmaps live on sources only.
  expect(await listBitmaps(point)).toEqual([]);
}

describe.each([
  { kind: "qcow2-file" as const, label: "a qcow2 file source (each job adds its bitmap; -B on a Unix socket)" },
  { kind: "nbd" as const, label: "an NBD source exported by qemu-nbd -r -B NAME over TCP" },
])("changed blocks from $label", ({ kind }) => {
  it("makes a full and four incrementals that move only the dirty extents and equal the source", async () => {
    const work = await mkdtemp(path.join(dir, `${kind}-`));
    const source = await makeImage(path.join(work, "disk.qcow2"), { sizeMiB: 128, randomMiB: 64, format: "qcow2" });
    // Job 0, the full: its bitmap is added when it starts, then the disk is copied.
    await addBitmap(source, bitmapNameOf("job0"));
    const points = [path.join(work, "job0.qcow2")];
    await execa("qemu-img", ["convert", "-f", "qcow2", "-O", "qcow2", source, points[0]]);
    const truths = [await snapshot(source, "qcow2", path.join(work, "truth0.raw"))];
    const metadata = await emptyOverlaySize(work, points[0], SIZE);

    for (let n = 1; n <= 4; n += 1) {
      const writes = scatteredWrites(1000 * n + (kind === "nbd" ? 7 : 0), SIZE);
      await applyWrites(source, "qcow2", writes);
      truths[n] = await snapshot(source, "qcow2", path.join(work, `truth${n}.raw`));

      // Job n: add its own bitmap first, then decide from the previous job's.
      const jobId = `job${n}`;
      await addBitmap(source, bitmapNameOf(jobId));
      const previous: PreviousPoint = { jobId: `job${n - 1}`, virtualSize: SIZE, bitmap: bitmapNameOf(`job${n - 1}`) };
      let plan: CopyPlan;
      if (kind === "qcow2-file") {
        const bitmapCheck = await checkBitmap(source, previous.bitmap as string, previous.virtualSize);
        const facts: SourceFacts = { kind, virtualSize: await virtualSize(source, "qcow2") };
        plan = planCopy({ type: "incremental", source: facts, previous, bitmapCheck });
      } else {
        const facts: SourceFacts = { kind, virtualSize: SIZE, dirtyBitmap: previous.bitmap as string };
        plan = planCopy({ type: "incremental", source: facts, previous });
      }
      expect(plan).toMatchObject({ mode: "changed-blocks", bitmap: previous.bitmap, backingJobId: previous.jobId });
      if (plan.mode !== "changed-blocks") throw new Error("unreachable");

      points[n] = path.join(work, `${jobId}.qcow2`);
      await createOverlay(points[n], points[n - 1], SIZE);
      const progress: number[] = [];
      const outcome = await runIncremental({
        source,
        sourceFormat: "qcow2",
        overlay: points[n],
        previousPoint: points[n - 1],
        bitmap: plan.bitmap,
        sourceOverTcp: kind === "nbd",
        onProgress: (done) => progress.push(done),
      });
      // Committed: the previous job's bitmap goes, this job's stays for the next incremental.
      expect(await removeBitmap(source, plan.bitmap)).toBe(true);

      expect(outcome.mode).toBe("changed-blocks");
      expect(outcome.changedBytes).toBe(dirtyBytesOf(writes));
      // What really differs is inside what the bitmap marked: nothing was missed.
      expect(await differingBlockBytes(truths[n - 1], truths[n])).toBeLessThanOrEqual(outcome.changedBytes);
      // Progress counts the bytes to move, not the disk.
      expect(outcome.progressTotal).toBe(outcome.changedBytes);
      expect(progress.at(-1)).toBe(outcome.changedBytes);
      expect(outcome.changedBytes).toBeLessThan(0.04 * SIZE);
      await expectGoodPoint(outcome, points[n], truths[n], metadata);
      // Every earlier point still reads as it did (overlays never write into their backing).
      const first = await compareWithPoint(truths[1], points[1]);
      expect(first.exitCode, first.output).toBe(0);
    }
    expect((await listBitmaps(source)).map((b) => b.name)).toEqual([bitmapNameOf("job4")]);
    await rm(work, { recursive: true, force: true });
  });
});

describe("fallbacks and failures on a qcow2 file source", () => {
  it("uses content diff when the bitmap was deleted by hand or left in-use by a killed writer", async () => {
    const work = await mkdtemp(path.join(dir, "fallback-"));
    const source = await makeImage(path.join(work, "disk.qcow2"), { sizeMiB: 128, randomMiB: 64, format: "qcow2" });
    await addBitmap(source, bitmapNameOf("job0"));
    const points = [path.join(work, "job0.qcow2")];
    await execa("qemu-img", ["convert", "-f", "qcow2", "-O", "qcow2", source, points[0]]);
    const truths = [await snapshot(source, "qcow2", path.join(work, "truth0.raw"))];
    const metadata = await emptyOverlaySize(work, points[0], SIZE);

    const cases = [
      {
        change: async (n: number) => {
          await applyWrites(source, "qcow2", scatteredWrites(50 + n, SIZE));
          await removeBitmap(source, bitmapNameOf(`job${n - 1}`)); // by hand
        },
        reason: `bitmap nbdhub-job0 is missing on the source (deleted by hand or the source was replaced)`,
      },
      {
        // The disk is written through a read-write qemu-nbd that is then killed: qemu never
        // stores the bitmap back, so it stays flagged in-use.
        change: async (n: number) => {
          const writer = await startQemuNbd(source, { format: "qcow2", unix: true });
          try {
            const commands = ioCommands(scatteredWrites(50 + n, SIZE));
            const uri = `nbd+unix:///?socket=${writer.socketPath}`;
            await execa("qemu-io", ["-f", "raw", ...commands, "-c", "flush", uri]);
            writer.process.kill("SIGKILL");
            await waitFor(() => writer.process.signalCode !== null || writer.process.exitCode !== null, {
              what: "the writer to die",
            });
          } finally {
            await writer.stop();
          }
        },
        reason: "bitmap nbdhub-job1 was left inconsistent (in-use) by a writer that did not close cleanly",
      },
    ];
    for (const [i, c] of cases.entries()) {
      const n = i + 1;
      const jobId = `job${n}`;
      await c.change(n);
      truths[n] = await snapshot(source, "qcow2", path.join(work, `truth${n}.raw`));
      await addBitmap(source, bitmapNameOf(jobId));
      const previous: PreviousPoint = { jobId: `job${n - 1}`, virtualSize: SIZE, bitmap: bitmapNameOf(`job${n - 1}`) };
      const bitmapCheck = await checkBitmap(source, previous.bitmap as string, SIZE);
      const facts: SourceFacts = { kind: "qcow2-file", virtualSize: SIZE };
      const plan = planCopy({ type: "incremental", source: facts, previous, bitmapCheck });
      expect(plan).toEqual({
        mode: "content-diff",
        reason: `content diff since job job${n - 1}: ${c.reason}; every block was compared`,
        backingJobId: `job${n - 1}`,
      });
      points[n] = path.join(work, `${jobId}.qcow2`);
      await createOverlay(points[n], points[n - 1], SIZE);
      const outcome = await runIncremental({
        source,
        sourceFormat: "qcow2",
        overlay: points[n],
        previousPoint: points[n - 1],
      });
      await removeBitmap(source, previous.bitmap as string); // gone already, or inconsistent: both fine
      const truth = await differingBlockBytes(truths[n - 1], truths[n]);
      expect(truth).toBeGreaterThan(0);
      expect(outcome.changedBytes).toBeGreaterThanOrEqual(truth);
      expect(outcome.changedBytes).toBeLessThanOrEqual(1.1 * truth);
      expect(outcome.progressTotal).toBe(SIZE);
      await expectGoodPoint(outcome, points[n], truths[n], metadata);
    }
    await rm(work, { recursive: true, force: true });
  });

  it("loses no change when an incremental dies mid-copy: the next one still reads the old bitmap", async () => {
    const work = await mkdtemp(path.join(dir, "failed-"));
    const source = await makeImage(path.join(work, "disk.qcow2"), { sizeMiB: 128, randomMiB: 64, format: "qcow2" });
    await addBitmap(source, bitmapNameOf("job0"));
    const p0 = path.join(work, "job0.qcow2");
    await execa("qemu-img", ["convert", "-f", "qcow2", "-O", "qcow2", source, p0]);
    const firstWrites = scatteredWrites(77, SIZE, 0.04);
    await applyWrites(source, "qcow2", firstWrites);

    // Job 1 adds its bitmap and starts copying with job 0's; its destination export is killed.
    await addBitmap(source, bitmapNameOf("job1"));
    const p1 = path.join(work, "job1.qcow2");
    await createOverlay(p1, p0, SIZE);
    const bitmap = bitmapNameOf("job0");
    const src = await startQemuNbd(source, { format: "qcow2", readOnly: true, bitmap, unix: true });
    const dst = await startQemuNbd(p1, { format: "qcow2", unix: true });
    try {
      const from = await connect(src.uri, { metaContexts: changedBlocksContexts(bitmapNameOf("job0")) });
      const to = await connect(dst.uri);
      const failed = await copyChangedBlocks(from, to, {
        bitmap: bitmapNameOf("job0"),
        requestSize: 64 * 1024,
        inFlight: 2,
        onProgress: () => {
          if (dst.process.signalCode === null) dst.process.kill("SIGKILL");
        },
      }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(Error);
      from.close();
      to.close();
    } finally {
      await Promise.all([src.stop(), dst.stop()]);
    }
    // The failure path: the new bitmap goes (tolerating it missing), the old one stays.
    expect(await removeBitmap(source, bitmapNameOf("job1"))).toBe(true);
    expect(await removeBitmap(source, bitmapNameOf("job1"))).toBe(false);
    await rm(p1);

    await applyWrites(source, "qcow2", scatteredWrites(78, SIZE));
    const truth = await snapshot(source, "qcow2", path.join(work, "truth2.raw"));
    await addBitmap(source, bitmapNameOf("job2"));
    const previous: PreviousPoint = { jobId: "job0", virtualSize: SIZE, bitmap: bitmapNameOf("job0") };
    const bitmapCheck = await checkBitmap(source, bitmapNameOf("job0"), SIZE);
    const facts: SourceFacts = { kind: "qcow2-file", virtualSize: SIZE };
    const plan = planCopy({ type: "incremental", source: facts, previous, bitmapCheck });
    expect(plan.mode).toBe("changed-blocks");
    const p2 = path.join(work, "job2.qcow2");
    await createOverlay(p2, p0, SIZE);
    const outcome = await runIncremental({
      source,
      sourceFormat: "qcow2",
      overlay: p2,
      previousPoint: p0,
      bitmap: bitmapNameOf("job0"),
    });
    // The changes made before the failed job are in this point too.
    expect(outcome.changedBytes).toBeGreaterThanOrEqual(dirtyBytesOf(firstWrites));
    const cmp = await compareWithPoint(truth, p2);
    expect(cmp.exitCode, cmp.output).toBe(0);
    expect(outcome.verified).toMatchObject({ identical: true });
    await rm(work, { recursive: true, force: true });
  });
});

describe("content diff of a raw source", () => {
  it("makes a full and four incrementals writing only differing blocks, then a grow and a shrink", async () => {
    const work = await mkdtemp(path.join(dir, "raw-"));
    const source = await makeImage(path.join(work, "disk.raw"), { sizeMiB: 128, randomMiB: 64 });
    const points = [path.join(work, "job0.qcow2")];
    await execa("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", source, points[0]]);
    const truths = [await snapshot(source, "raw", path.join(work, "truth0.raw"))];
    const metadata = await emptyOverlaySize(work, points[0], SIZE);
    const sizes = [SIZE, SIZE, SIZE, SIZE, SIZE, SIZE + 16 * MiB, SIZE - 8 * MiB];

    for (let n = 1; n < sizes.length; n += 1) {
      if (sizes[n] !== sizes[n - 1]) await truncate(source, sizes[n]);
      await applyWrites(source, "raw", scatteredWrites(300 + n, sizes[n]));
      truths[n] = await snapshot(source, "raw", path.join(work, `truth${n}.raw`));
      const plan = planCopy({
        type: "incremental",
        source: { kind: "raw-file", virtualSize: sizes[n] },
        previous: { jobId: `job${n - 1}`, virtualSize: sizes[n - 1] },
      });
      const why = expect.stringContaining("a raw file keeps no dirty bitmap");
      expect(plan).toMatchObject({ mode: "content-diff", reason: why });
      points[n] = path.join(work, `job${n}.qcow2`);
      await createOverlay(points[n], points[n - 1], sizes[n]);
      const outcome = await runIncremental({
        source,
        sourceFormat: "raw",
        overlay: points[n],
        previousPoint: points[n - 1],
      });
      const truth = await differingBlockBytes(truths[n - 1], truths[n]);
      expect(outcome.mode).toBe("content-diff");
      expect(outcome.changedBytes).toBeGreaterThanOrEqual(truth);
      expect(outcome.changedBytes).toBeLessThanOrEqual(1.1 * truth);
      expect(outcome.progressTotal).toBe(sizes[n]);
      await expectGoodPoint(outcome, points[n], truths[n], metadata);
    }
    await rm(work, { recursive: true, force: true });
  });
});
