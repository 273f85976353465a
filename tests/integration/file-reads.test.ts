// An incremental's reads from the image file itself (decision 034): for qcow2 images of every
// layout qemu makes (data, zero clusters, unallocated ranges, a backing file, compression,
// small and large clusters, version 2, extended L2) and a raw file, what FileReads reads is
// what qemu-nbd serves, byte for byte, and its map agrees with `qemu-img map`: the plain parts
// come from the file, the rest through the export.
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileReads } from "@/lib/backup/incremental/file-reads";
import { connect, type NbdClient } from "@/lib/nbd/client";
import { startQemuNbd, type QemuNbdServer } from "../helpers/qemu-nbd-server";
import { prng } from "../helpers/prng";

const KiB = 1024;
const MiB = 1024 * 1024;
let dir: string;
const servers: QemuNbdServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-file-reads-"));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

const qemuImg = (...args: string[]) => execa("qemu-img", args, { timeout: 60_000 });
const qemuIo = (file: string, ...commands: string[]) =>
  execa("qemu-io", ["-f", "qcow2", ...commands.flatMap((c) => ["-c", c]), file], { timeout: 60_000 });

/** An 8 MiB qcow2 with data, zero clusters (allocated and not), a discarded range and holes. */
async function layered(name: string, createOptions: string[] = []): Promise<string> {
  const file = path.join(dir, name);
  await qemuImg("create", "-q", "-f", "qcow2", ...createOptions, file, "8M");
  await qemuIo(
    file,
    "write -P 0x11 0 1M",
    "write -P 0x22 1536k 100k",
    "write -z 3M 256k",
    "write -P 0x33 4M 1M",
    "write -z -u 4352k 128k",
    "discard 4608k 64k",
    "write -P 0x44 7M 4k",
    "write -P 0x55 8188k 4k",
  );
  return file;
}

type Serving = { client: NbdClient; reads: FileReads };

async function serve(file: string, format: "raw" | "qcow2"): Promise<Serving> {
  const server = await startQemuNbd(file, { format, readOnly: true, unix: true });
  servers.push(server);
  const client = await connect(server.uri);
  const reads = await FileReads.open(client, file, format);
  return { client, reads };
}

/** The whole image read through FileReads in pieces of random sizes and through qemu-nbd. */
async function expectSameBytes({ client, reads }: Serving, seed: number): Promise<void> {
  const rand = prng(seed);
  const theirs = await client.read(0, client.size);
  const ours = Buffer.alloc(client.size, 0xee);
  let at = 0;
  const pieces: { offset: number; length: number }[] = [];
  while (at < client.size) {
    const length = Math.min(client.size - at, 512 * (1 + Math.floor(rand() * 700)));
    pieces.push({ offset: at, length });
    at += length;
  }
  await Promise.all(pieces.map((p) => reads.readInto(p.offset, ours.subarray(p.offset, p.offset + p.length))));
  expect(ours.equals(theirs)).toBe(true);
}

type MapEntry = { start: number; length: number; depth: number; data: boolean; zero: boolean; offset?: number };
async function qemuMap(file: string, format: string): Promise<MapEntry[]> {
  const { stdout } = await qemuImg("map", "--output=json", "-f", format, file);
  return JSON.parse(stdout) as MapEntry[];
}

describe("FileReads", () => {
  it("reads a qcow2 of data, zero clusters and holes as qemu-nbd does, and maps its data where qemu-img map does", async () => {
    const file = await layered("layered.qcow2");
    const s = await serve(file, "qcow2");
    try {
      await expectSameBytes(s, 1);
      // Each of qemu-img's depth-0 data extents is read from the file, nothing of them via qemu.
      const before = { ...s.reads.stats };
      const extents = (await qemuMap(file, "qcow2")).filter((x) => x.depth === 0 && x.data);
      for (const e of extents) {
        expect(e.offset).toBeDefined();
        await s.reads.readInto(e.start, Buffer.alloc(e.length));
      }
      const dataBytes = extents.reduce((n, x) => n + x.length, 0);
      expect(s.reads.stats.fromFile - before.fromFile).toBe(dataBytes);
      expect(s.reads.stats.viaExport - before.viaExport).toBe(0);
      // The zero clusters read as zero from the metadata alone; the holes went through qemu.
      expect(s.reads.stats.zero).toBeGreaterThan(0);
      expect(s.reads.stats.viaExport).toBeGreaterThan(0);
    } finally {
      await s.reads.disconnect();
    }
  });

  it("reads an overlay's own clusters from its file and what shows through from the backing file via qemu", async () => {
    const base = await layered("base.qcow2");
    const top = path.join(dir, "top.qcow2");
    await qemuImg("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", top);
    await qemuIo(top, "write -P 0x66 512k 1M", "write -z 4M 64k", "write -P 0x77 6M 64k");
    const s = await serve(top, "qcow2");
    try {
      await expectSameBytes(s, 2);
      const own = Buffer.alloc(MiB);
      const before = { ...s.reads.stats };
      await s.reads.readInto(512 * KiB, own);
      expect(own.equals(Buffer.alloc(MiB, 0x66))).toBe(true);
      expect(s.reads.stats.fromFile - before.fromFile).toBe(MiB);
      // From 1.5 MiB: the base's 0x22 data, shown through (not this file's).
      const through = await s.reads.read(MiB + 512 * KiB, 64 * KiB);
      expect(through.equals(Buffer.alloc(64 * KiB, 0x22))).toBe(true);
      expect(s.reads.stats.viaExport - before.viaExport).toBe(64 * KiB);
    } finally {
      await s.reads.disconnect();
    }
  });

  it("matches qemu-nbd for 4 KiB and 2 MiB clusters, version 2, compressed clusters and extended L2 entries", async () => {
    const images = [
      await layered("small.qcow2", ["-o", "cluster_size=4096"]),
      await layered("large.qcow2", ["-o", "cluster_size=2M"]),
      await layered("v2.qcow2", ["-o", "compat=0.10"]),
      await layered("l2x.qcow2", ["-o", "extended_l2=on"]),
    ];
    const compressed = path.join(dir, "compressed.qcow2");
    await qemuImg("convert", "-c", "-f", "qcow2", "-O", "qcow2", images[0], compressed);
    images.push(compressed);
    for (const [i, file] of images.entries()) {
      const s = await serve(file, "qcow2");
      try {
        await expectSameBytes(s, 10 + i);
        if (file.endsWith("l2x.qcow2")) expect(s.reads.unmapped).toMatch(/incompatible features/);
        else expect(s.reads.unmapped).toBeNull();
        if (file === compressed) expect(s.reads.stats.fromFile).toBeLessThan(s.reads.stats.viaExport);
        if (file.endsWith("small.qcow2")) expect(s.reads.stats.fromFile).toBeGreaterThan(1.5 * MiB);
      } finally {
        await s.reads.disconnect();
      }
    }
  });

  it("reads a raw file at the guest offsets, in place from the page cache, on the thread pool once a read is slow", async () => {
    const file = path.join(dir, "plain.raw");
    await writeFile(file, Buffer.concat([randomBytes(3 * MiB), Buffer.alloc(MiB)]));
    const s = await serve(file, "raw");
    try {
      await expectSameBytes(s, 3);
      expect(s.reads.stats.viaExport).toBe(0);
      // Just written: every read came from the page cache, in place.
      expect(s.reads.stats.onThreadPool).toBe(0);
      // Out of the page cache (written back, then dropped): the first read comes from the disk,
      // in place, and sends the rest to the thread pool.
      await execa("sync", [file]);
      await execa("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"]);
      const cold = await FileReads.open(s.client, file, "raw");
      const read = Buffer.alloc(4 * MiB);
      for (let at = 0; at < read.length; at += 256 * KiB) await cold.readInto(at, read.subarray(at, at + 256 * KiB));
      expect(read.equals(await readFile(file))).toBe(true);
      expect(cold.stats.onThreadPool).toBeGreaterThan(0);
      expect(cold.stats.onThreadPool).toBeLessThan(4 * MiB);
      await cold.close();
      // Every read "slow": the first is made in place, the rest on the thread pool, same bytes.
      const slow = await FileReads.open(s.client, file, "raw", { syncReadLimitMs: -1 });
      await expectSameBytes({ client: s.client, reads: slow }, 4);
      expect(slow.stats.onThreadPool).toBeGreaterThan(0);
      expect(slow.stats.fromFile - slow.stats.onThreadPool).toBeLessThanOrEqual(350 * 1024);
      await slow.close();
    } finally {
      await s.reads.disconnect();
    }
  });
});
