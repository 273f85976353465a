// Edges of the incremental engine against real qemu-nbd exports: read-back verification
// finding the first difference, content diff without allocation maps, and refusals that
// happen before anything is written.
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { copyChangedBlocks } from "@/lib/backup/incremental/changed-blocks";
import { contentDiff } from "@/lib/backup/incremental/content-diff";
import { verifyExtents, verifyWritten, WrittenLog } from "@/lib/backup/incremental/verify-extents";
import { connect, copy, type NbdClient } from "@/lib/nbd/client";
import { MiB, actualSize, compareWithPoint, createOverlay } from "../helpers/incremental-chain";
import { startQemuNbd, type QemuNbdServer } from "../helpers/qemu-nbd-server";

let dir: string;
let servers: QemuNbdServer[] = [];
let clients: NbdClient[] = [];

async function open(image: string, options: Parameters<typeof startQemuNbd>[1], metaContexts?: string[]) {
  const s = await startQemuNbd(image, { unix: true, ...options });
  servers.push(s);
  const c = await connect(s.uri, metaContexts ? { metaContexts } : {});
  clients.push(c);
  return c;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-engine-"));
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.disconnect().catch(() => c.close())));
  await Promise.all(servers.map((s) => s.stop()));
  clients = [];
  servers = [];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("verifyExtents", () => {
  it("reports the first differing byte inside the ranges, and nothing outside them", async () => {
    const data = randomBytes(32 * MiB);
    const fileA = path.join(dir, "a.raw");
    const fileB = path.join(dir, "b.raw");
    await writeFile(fileA, data);
    const changed = Buffer.from(data);
    for (const at of [20 * MiB + 7, 5 * MiB + 123]) changed[at] ^= 0xff;
    await writeFile(fileB, changed);
    const a = await open(fileA, { readOnly: true });
    const b = await open(fileB, { readOnly: true });
    const options = { requestSize: MiB, inFlight: 8 };
    expect(await verifyExtents(a, b, [{ offset: 0, length: 32 * MiB }], options)).toMatchObject({
      identical: false,
      offset: 5 * MiB + 123,
    });
    expect(await verifyExtents(a, b, [{ offset: 6 * MiB, length: 26 * MiB }], options)).toEqual({
      identical: false,
      offset: 20 * MiB + 7,
      bytesCompared: expect.any(Number),
    });
    expect(
      await verifyExtents(
        a,
        b,
        [
          { offset: 6 * MiB, length: 10 * MiB },
          { offset: 0, length: 5 * MiB + 123 },
        ],
        options,
      ),
    ).toEqual({ identical: true, bytesCompared: 15 * MiB + 123 });
  });
});

describe("verifyWritten (digests taken while copying, the new point read back)", () => {
  // The bytes kept (the default for small copies), only their SHA-256, both in one log, and only
  // the places (the source read again, as for a file source).
  for (const [keep, what] of [
    [undefined, "bytes kept"],
    [0, "digests only"],
    [MiB, "1 MiB kept, digests after"],
    ["places", "places only, the source read again"],
  ] as const) {
    it(`finds a wrong byte written over the copy, in data and in a zeroed range (${what})`, async () => {
      // The source: random data with a zero MiB in the middle, so the copy writes both kinds.
      const data = Buffer.concat([randomBytes(4 * MiB), Buffer.alloc(MiB), randomBytes(3 * MiB)]);
      const sourceFile = path.join(dir, "vw-source.raw");
      const targetFile = path.join(dir, "vw-target.raw");
      await writeFile(sourceFile, data);
      await writeFile(targetFile, Buffer.alloc(8 * MiB));
      const source = await open(sourceFile, { readOnly: true });
      const target = await open(targetFile, {});
      const readBack = await connect(servers[servers.length - 1].uri);
      clients.push(readBack);
      const log = new WrittenLog(keep);
      const ranges = [
        { offset: 65536, length: 2 * MiB },
        { offset: 3 * MiB, length: 3 * MiB },
      ];
      const copied = await copy(source, target, {
        ranges,
        requestSize: 256 * 1024,
        onWritten: log.add,
        buffers: log.buffers,
      });
      expect(copied.bytesZeroed, "the zero MiB is written as zeroes").toBe(MiB);
      expect(await verifyWritten(source, readBack, log)).toEqual({ identical: true, bytesCompared: 5 * MiB });

      // Damage the point after the copy, as a disk or a bug would: one byte of data, one of the zeroes.
      await target.write(5 * MiB + 4097, Buffer.from([data[5 * MiB + 4097] ^ 0x5a]));
      await target.write(4 * MiB + 300_000, Buffer.from([7]));
      expect(await verifyWritten(source, readBack, log)).toMatchObject({ identical: false, offset: 4 * MiB + 300_000 });
      // Outside the written ranges nothing is looked at; inside, the first wrong byte is named.
      await target.write(4 * MiB + 300_000, Buffer.alloc(1));
      await target.write(MiB, Buffer.from([data[MiB] ^ 1]));
      expect(await verifyWritten(source, readBack, log)).toMatchObject({ identical: false, offset: MiB });
      await target.write(20, Buffer.from([data[20] ^ 1]));
      await target.write(MiB, Buffer.from([data[MiB]]));
      expect(await verifyWritten(source, readBack, log)).toMatchObject({ identical: false, offset: 5 * MiB + 4097 });
    });
  }
});

describe("content diff", () => {
  it("works without any allocation map: compares everything, writes only blocks that differ", async () => {
    const base = path.join(dir, "cd-source.raw");
    const data = Buffer.concat([randomBytes(8 * MiB), Buffer.alloc(8 * MiB)]);
    await writeFile(base, data);
    const previous = path.join(dir, "cd-previous.qcow2");
    await execa("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", base, previous]);
    // Change one 64 KiB block with data, zero one, and put data into a zero region.
    data.fill(1, 65536 * 3 + 100, 65536 * 3 + 200);
    data.fill(0, 65536 * 10, 65536 * 11);
    data.fill(9, 12 * MiB, 12 * MiB + 1);
    await writeFile(base, data);
    const overlay = path.join(dir, "cd-overlay.qcow2");
    await createOverlay(overlay, previous, 16 * MiB);
    const source = await open(base, { readOnly: true }, []);
    const before = await open(previous, { format: "qcow2", readOnly: true }, []);
    const destination = await open(overlay, { format: "qcow2" });
    const result = await contentDiff(source, before, destination, { requestSize: MiB });
    expect(result).toMatchObject({
      changedBytes: 3 * 65536,
      bytesRead: 16 * MiB,
      previousBytesRead: 16 * MiB,
      bytesWritten: 2 * 65536,
      bytesZeroed: 65536,
    });
    expect(result.changedRanges).toEqual([
      { offset: 65536 * 3, length: 65536 },
      { offset: 65536 * 10, length: 65536 },
      { offset: 12 * MiB, length: 65536 },
    ]);
    await Promise.all(clients.map((c) => c.disconnect()));
    clients = [];
    await Promise.all(servers.map((s) => s.stop()));
    servers = [];
    const cmp = await compareWithPoint(base, overlay);
    expect(cmp.exitCode, cmp.output).toBe(0);
    expect(await actualSize(overlay)).toBeLessThan(MiB);
  });

  it("refuses a destination of another size, and changed blocks without the bitmap's context", async () => {
    const file = path.join(dir, "small.qcow2");
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", file, "16M"]);
    const other = path.join(dir, "other.qcow2");
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", other, "8M"]);
    const source = await open(file, { format: "qcow2", readOnly: true });
    const destination = await open(other, { format: "qcow2" });
    await expect(contentDiff(source, source, destination)).rejects.toThrow(
      "content diff: the destination (8388608 bytes) must have the source's size (16777216 bytes)",
    );
    await expect(copyChangedBlocks(source, destination, { bitmap: "b0" })).rejects.toThrow(
      "changed blocks: the source export does not offer qemu:dirty-bitmap:b0",
    );
    await Promise.all(clients.map((c) => c.disconnect()));
    clients = [];
    await Promise.all(servers.map((s) => s.stop()));
    servers = [];
    const { stdout } = await execa("qemu-img", ["map", "--output=json", "-f", "qcow2", other]);
    expect((JSON.parse(stdout) as { data: boolean }[]).some((e) => e.data)).toBe(false);
    expect((await readFile(other)).length).toBeLessThan(MiB);
  });
});
