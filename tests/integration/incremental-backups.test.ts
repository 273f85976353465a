// Issue 13 end to end through POST /backups, the real server, Postgres, qemu-nbd and qemu-img:
// incrementals move only what changed (changed blocks for a qcow2 file and for an NBD source
// naming its dirty bitmap, content diff for a raw file), each point read through its backing
// chain equals the source as it was, the bitmaps of decision 010 come and go as they should,
// a private reader killed mid-copy loses no change, and a bitmap deleted by hand falls back.
import { promises as fs } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addBitmap, listBitmaps, removeBitmap } from "@/lib/backup/bitmaps";
import { makeImage } from "../helpers/images";
import {
  CLUSTER,
  MiB,
  actualSize,
  applyWrites,
  compareWithPoint,
  createOverlay,
  dirtyBytesOf,
  scatteredWrites,
  snapshot,
  type Write,
} from "../helpers/incremental-chain";
import { startQemuNbd } from "../helpers/qemu-nbd-server";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor } from "../helpers/wait";

type Disk = {
  diskId: string;
  status: string;
  targetPath: string;
  totalBytes: number;
  transferredBytes: number;
  changedBytes: number | null;
  copyMode: string | null;
  copyReason: string | null;
  backingJobId: string | null;
  dirtyBitmap: string | null;
  verified: boolean;
  verification: string | null;
  error: string | null;
};
type Job = {
  id: string;
  status: string;
  error: string | null;
  disks: Disk[];
  events?: { kind: string; message: string }[];
};
type ErrorBody = { error: { code: string; message: string; details?: Record<string, string> } };

const fleet = new ServerFleet("incr");
let server: TestServer;
let work: string;
let sources: string;

beforeAll(async () => {
  server = await fleet.start({}, { ports: 4 });
  sources = path.join(server.dataDir, "sources");
  work = await mkdtemp(path.join(os.tmpdir(), "nbdhub-incr-"));
}, 120_000);

afterAll(async () => {
  await fleet.end();
  await rm(work, { recursive: true, force: true });
});

async function job(id: string): Promise<Job> {
  return (await server.api<Job>("GET", `/backups/${id}`)).body;
}

async function ended(id: string): Promise<Job> {
  return waitFor(
    async () => {
      const j = await job(id);
      return ["completed", "failed", "cancelled"].includes(j.status) ? j : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 200, what: `job ${id} to end` },
  );
}

async function backup(vmName: string, type: "full" | "incremental", disk: Record<string, string>): Promise<Job> {
  const r = await server.api<Job & ErrorBody>("POST", "/backups", { vmName, type, disks: [disk] });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return ended(r.body.id);
}

async function completed(vmName: string, type: "full" | "incremental", disk: Record<string, string>): Promise<Job> {
  const done = await backup(vmName, type, disk);
  expect(done.status, done.error ?? "").toBe("completed");
  return done;
}

/** Bytes a fresh overlay of this disk takes before any write, plus room for new L2/refcount tables. */
async function metadataAllowance(backing: string, size: number): Promise<number> {
  const file = path.join(work, `empty-${Date.now()}.qcow2`);
  await createOverlay(file, backing, size);
  const bytes = await actualSize(file);
  await rm(file);
  return bytes + 2 * CLUSTER;
}

async function bitmapNames(file: string): Promise<string[]> {
  return (await listBitmaps(file)).map((b) => b.name).sort();
}

/** The bitmaps are settled just after the job's status is written: wait for them to be `names`. */
async function expectBitmaps(file: string, names: string[]): Promise<void> {
  const wanted = JSON.stringify([...names].sort());
  let seen: string[] = [];
  await waitFor(
    async () => {
      seen = await bitmapNames(file);
      return JSON.stringify(seen) === wanted;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `the bitmaps of ${file} to be ${wanted}` },
  ).catch(() => undefined);
  expect(seen).toEqual([...names].sort());
}

/** What the issue promises of one incremental's disk: bytes written, overlay size, the chain. */
async function expectGoodIncremental(disk: Disk, truth: string, metadata: number) {
  expect(disk.changedBytes).toBeGreaterThan(0);
  expect(disk.transferredBytes).toBeLessThanOrEqual(1.1 * disk.changedBytes!);
  expect(await actualSize(disk.targetPath)).toBeLessThanOrEqual(1.2 * disk.changedBytes! + metadata);
  expect(disk.verified).toBe(true);
  const cmp = await compareWithPoint(truth, disk.targetPath);
  expect(cmp.exitCode, cmp.output).toBe(0);
}

describe("incrementals through POST /backups", () => {
  it("a qcow2 source: a full and four incrementals copy only the changed blocks, each point as the source", async () => {
    const size = 128 * MiB;
    const source = await makeImage(path.join(sources, "chain.qcow2"), { sizeMiB: 128, randomMiB: 48, format: "qcow2" });
    const full = await completed("chain", "full", { source: "chain.qcow2" });
    expect(full.disks[0]).toMatchObject({ copyMode: "full", backingJobId: null, changedBytes: null, verified: true });
    expect(full.disks[0].copyReason).toContain("full");
    // The full added its own bitmap, for the next incremental.
    await expectBitmaps(source, [`nbdhub-${full.id}`]);
    const metadata = await metadataAllowance(full.disks[0].targetPath, size);

    const points: { target: string; truth: string }[] = [];
    let previous = full;
    for (let i = 1; i <= 4; i += 1) {
      const writes = scatteredWrites(1300 + i, size, 0.02);
      await applyWrites(source, "qcow2", writes);
      const truth = await snapshot(source, "qcow2", path.join(work, `chain-truth${i}.raw`));
      const done = await completed("chain", "incremental", { source: "chain.qcow2" });
      const disk = done.disks[0];
      expect(disk.copyMode).toBe("changed-blocks");
      expect(disk.backingJobId).toBe(previous.id);
      expect(disk.copyReason).toBe(`changed blocks since job ${previous.id} (bitmap nbdhub-${previous.id})`);
      // The bitmap marks whole 64 KiB granules: exactly those the writes touched.
      expect(disk.changedBytes).toBe(dirtyBytesOf(writes));
      await expectGoodIncremental(disk, truth, metadata);
      const rest = `the rest is unchanged since job ${previous.id} per bitmap nbdhub-${previous.id}`;
      expect(disk.verification).toContain(rest);
      const events = (await job(done.id)).events!.map((e) => e.message);
      expect(events.some((m) => m.includes("mover: nbdhub's NBD client"))).toBe(true);
      // Committed: the previous job's bitmap is gone, this job's is the one the next reads.
      await expectBitmaps(source, [`nbdhub-${done.id}`]);
      points.push({ target: disk.targetPath, truth });
      previous = done;
    }
    // Every point, read through its backing chain, still equals the source as it was then.
    for (const p of points) expect((await compareWithPoint(p.truth, p.target)).exitCode).toBe(0);
  }, 600_000);

  it("an NBD source exported by qemu-nbd -r -B NAME: dirtyBitmap drives the copy", async () => {
    const size = 64 * MiB;
    const file = await makeImage(path.join(work, "nbd-src.qcow2"), { sizeMiB: 64, randomMiB: 24, format: "qcow2" });
    // The bitmap is the source owner's (libvirt's checkpoint, say): added before each backup reads.
    await addBitmap(file, "cp1");
    let served = await startQemuNbd(file, { format: "qcow2", readOnly: true });
    let previous: Job;
    try {
      previous = await completed("nbdvm", "full", { source: served.uri });
    } finally {
      await served.stop();
    }
    for (let i = 1; i <= 2; i += 1) {
      const writes: Write[] = scatteredWrites(2100 + i, size, 0.02);
      await applyWrites(file, "qcow2", writes);
      const truth = await snapshot(file, "qcow2", path.join(work, `nbd-truth${i}.raw`));
      await addBitmap(file, `cp${i + 1}`);
      served = await startQemuNbd(file, { format: "qcow2", readOnly: true, bitmap: `cp${i}` });
      try {
        const done = await completed("nbdvm", "incremental", { source: served.uri, dirtyBitmap: `cp${i}` });
        const disk = done.disks[0];
        expect(disk).toMatchObject({ copyMode: "changed-blocks", backingJobId: previous.id, dirtyBitmap: `cp${i}` });
        expect(disk.changedBytes).toBe(dirtyBytesOf(writes));
        await expectGoodIncremental(disk, truth, await metadataAllowance(previous.disks[0].targetPath, size));
        previous = done;
      } finally {
        await served.stop();
      }
      await removeBitmap(file, `cp${i}`);
    }
  }, 600_000);

  it("a raw source: content diff writes only the blocks that differ", async () => {
    const size = 64 * MiB;
    const source = await makeImage(path.join(sources, "plain.img"), { sizeMiB: 64, randomMiB: 24 });
    let previous = await completed("rawvm", "full", { source: "plain.img" });
    for (let i = 1; i <= 2; i += 1) {
      await applyWrites(source, "raw", scatteredWrites(3100 + i, size, 0.02));
      const truth = await snapshot(source, "raw", path.join(work, `raw-truth${i}.raw`));
      const done = await completed("rawvm", "incremental", { source: "plain.img" });
      const disk = done.disks[0];
      expect(disk.copyMode).toBe("content-diff");
      const why = "a raw file keeps no dirty bitmap; every block was compared";
      expect(disk.copyReason).toBe(`content diff since job ${previous.id}: ${why}`);
      await expectGoodIncremental(disk, truth, await metadataAllowance(previous.disks[0].targetPath, size));
      previous = done;
    }
  }, 600_000);

  it("a bitmap deleted by hand: the next incremental is a content diff, says why, and verifies", async () => {
    const size = 64 * MiB;
    const source = await makeImage(path.join(sources, "lost.qcow2"), { sizeMiB: 64, randomMiB: 24, format: "qcow2" });
    const full = await completed("lostvm", "full", { source: "lost.qcow2" });
    expect(await removeBitmap(source, `nbdhub-${full.id}`)).toBe(true);
    await applyWrites(source, "qcow2", scatteredWrites(4100, size, 0.02));
    const truth = await snapshot(source, "qcow2", path.join(work, "lost-truth.raw"));
    // The form's preview already says so.
    const q = new URLSearchParams({ vmName: "lostvm", type: "incremental", source: "lost.qcow2" });
    const plan = await server.api<{ copyMode: string; copyReason: string }>("GET", `/backups/plan?${q}`);
    expect(plan.status).toBe(200);
    expect(plan.body.copyMode).toBe("content-diff");
    const done = await completed("lostvm", "incremental", { source: "lost.qcow2" });
    const disk = done.disks[0];
    expect(disk.copyMode).toBe("content-diff");
    const why = `bitmap nbdhub-${full.id} is missing on the source (deleted by hand or the source was replaced)`;
    expect(disk.copyReason).toContain(why);
    const events = (await job(done.id)).events!;
    expect(events.some((e) => e.kind === "disk.plan" && e.message.includes(why))).toBe(true);
    await expectGoodIncremental(disk, truth, await metadataAllowance(full.disks[0].targetPath, size));
    // Its own bitmap is what the next incremental reads: changed blocks again.
    await expectBitmaps(source, [`nbdhub-${done.id}`]);
  }, 600_000);

  it("kill -9 of the private reader mid-incremental: the job fails, and the next incremental misses nothing", async () => {
    // The engine's mover runs in the server; its source is read through a private qemu-nbd with
    // -B (lib/nbd/private-reader.ts): that is the process killed here.
    const size = 256 * MiB;
    const source = await makeImage(path.join(sources, "killed.qcow2"), {
      sizeMiB: 256,
      randomMiB: 32,
      format: "qcow2",
    });
    const full = await completed("killvm", "full", { source: "killed.qcow2" });
    // Much changed, so the copy runs long enough to be cut.
    const firstWrites: Write[] = Array.from({ length: 60 }, (_, k) => ({
      offset: k * 4 * MiB,
      length: 3 * MiB,
      pattern: 7 + k,
    }));
    await applyWrites(source, "qcow2", firstWrites);
    const body = { vmName: "killvm", type: "incremental", disks: [{ source: "killed.qcow2" }] };
    const r = await server.api<Job>("POST", "/backups", body);
    expect(r.status).toBe(202);
    const runDir = path.join(server.dataDir, "run");
    const reader = await waitFor(
      async () => {
        for (const name of (await fs.readdir(runDir)).filter((n) => /^reader-.*\.pid$/.test(n))) {
          const pid = Number((await fs.readFile(path.join(runDir, name), "utf8").catch(() => "")).trim());
          const cmdline = pid
            ? (await fs.readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0))).toString()
            : "";
          if (cmdline.includes(`--bitmap=nbdhub-${full.id}`)) return pid;
        }
        return undefined;
      },
      { timeoutMs: 120_000, intervalMs: 5, what: "the private reader with the full's bitmap" },
    );
    // Mid-copy: the new overlay has grown by some MiB of the ~180 MiB to move.
    const target = path.join(server.dataDir, "repository", "killvm", "disk0", `${r.body.id}.qcow2`);
    const base = (await fs.stat(target)).blocks * 512;
    await waitFor(async () => (await fs.stat(target)).blocks * 512 > base + 8 * MiB, {
      timeoutMs: 120_000,
      intervalMs: 5,
      what: "the incremental to be copying",
    });
    process.kill(reader, "SIGKILL");
    const failed = await ended(r.body.id);
    expect(failed.status).toBe("failed");
    // The data is read from the file while the reader holds it read-only: its end stops the copy.
    expect(failed.error).toMatch(/private reader of killed\.qcow2 \(pid \d+\) ended before the copy did/);
    // The failed job's bitmap went; the full's stayed, with every change since the full began.
    await expectBitmaps(source, [`nbdhub-${full.id}`]);

    await applyWrites(source, "qcow2", scatteredWrites(5100, size, 0.01));
    const truth = await snapshot(source, "qcow2", path.join(work, "killed-truth.raw"));
    const done = await completed("killvm", "incremental", { source: "killed.qcow2" });
    const disk = done.disks[0];
    expect(disk).toMatchObject({ copyMode: "changed-blocks", backingJobId: full.id });
    expect(disk.changedBytes).toBeGreaterThanOrEqual(60 * 3 * MiB);
    const cmp = await compareWithPoint(truth, disk.targetPath);
    expect(cmp.exitCode, cmp.output).toBe(0);
  }, 600_000);

  it("refuses an incremental of an nbds:// source up front (422 incremental_unsupported, nothing created)", async () => {
    const file = await makeImage(path.join(work, "tls-src.qcow2"), { sizeMiB: 16, randomMiB: 4, format: "qcow2" });
    const served = await startQemuNbd(file, { format: "qcow2", readOnly: true });
    try {
      await completed("tlsvm", "full", { source: served.uri });
      // The same export named over TLS: the engine's client has no credentials for it.
      const tls = served.uri.replace(/^nbd:/, "nbds:");
      const r = await server.api<ErrorBody>("POST", "/backups", {
        vmName: "tlsvm",
        type: "incremental",
        disks: [{ source: tls }],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      expect(r.body.error.code).toBe("incremental_unsupported");
      expect(r.body.error.details?.["disks.0.source"]).toMatch(/over TLS \(nbds:\/\/\).*type "full"/);
      const list = await server.api<{ items: Job[] }>("GET", "/backups?vmName=tlsvm");
      expect(list.body.items).toHaveLength(1);
      const ports = await server.api<{ allocated: number }>("GET", "/nbd/ports");
      expect(ports.body.allocated).toBe(0);
      const query = new URLSearchParams({ vmName: "tlsvm", type: "incremental", source: tls });
      const plan = await server.api<ErrorBody>("GET", `/backups/plan?${query}`);
      expect(plan.status).toBe(422);
      expect(plan.body.error.code).toBe("incremental_unsupported");
    } finally {
      await served.stop();
    }
  }, 300_000);

  it("refuses dirtyBitmap for a file source (422, nothing created); a source open for writing fails its job", async () => {
    await makeImage(path.join(sources, "busy.qcow2"), { sizeMiB: 16, randomMiB: 4, format: "qcow2" });
    const r = await server.api<ErrorBody>("POST", "/backups", {
      vmName: "refused",
      type: "full",
      disks: [{ source: "busy.qcow2", dirtyBitmap: "x" }],
    });
    expect(r.status).toBe(422);
    expect(r.body.error.details?.["disks.0.dirtyBitmap"]).toMatch(/only an NBD source/);
    const list = await server.api<{ items: Job[] }>("GET", "/backups?vmName=refused");
    expect(list.body.items).toEqual([]);

    // A read-write qemu-nbd holds the image's write lock, as a running VM would.
    const writer = await startQemuNbd(path.join(sources, "busy.qcow2"), { format: "qcow2", unix: true });
    try {
      const done = await backup("busyvm", "full", { source: "busy.qcow2" });
      expect(done.status).toBe("failed");
      expect(done.error).toContain("is open for writing in another process");
    } finally {
      await writer.stop();
    }
  }, 300_000);
});
