// Qcow2Map on images built byte by byte: what it maps as data or zero, and every entry it must
// leave to qemu (compressed, reserved bits, offsets outside the file or misaligned, missing
// tables, unknown incompatible features, encryption, version 2 zero bits).
import { describe, expect, it } from "vitest";
import { parseQcow2Header, Qcow2Map } from "@/lib/backup/incremental/qcow2-map";

const KiB = 1024;
const CLUSTER = 64 * KiB;
const SIZE = 16 * 1024 * KiB;

type Image = { file: Buffer; setL2(index: number, high: number, low: number): void };

/** A 16 MiB qcow2 with 64 KiB clusters: header, L1 at cluster 1, one L2 table at cluster 2. */
function image(options: { version?: number; incompatible?: number; crypt?: number; clusters?: number } = {}): Image {
  const file = Buffer.alloc(CLUSTER * (options.clusters ?? 8));
  file.writeUInt32BE(0x514649fb, 0);
  file.writeUInt32BE(options.version ?? 3, 4);
  file.writeUInt32BE(16, 20);
  file.writeBigUInt64BE(BigInt(SIZE), 24);
  file.writeUInt32BE(options.crypt ?? 0, 32);
  file.writeUInt32BE(1, 36);
  file.writeBigUInt64BE(BigInt(CLUSTER), 40);
  file.writeUInt32BE(options.incompatible ?? 0, 76);
  file.writeUInt32BE(104, 100);
  file.writeUInt32BE(0x80000000, CLUSTER);
  file.writeUInt32BE(2 * CLUSTER, CLUSTER + 4);
  return {
    file,
    setL2(index, high, low) {
      file.writeUInt32BE(high >>> 0, 2 * CLUSTER + index * 8);
      file.writeUInt32BE(low >>> 0, 2 * CLUSTER + index * 8 + 4);
    },
  };
}

const open = (file: Buffer) =>
  Qcow2Map.open(async (position, length) => file.subarray(position, position + length), file.length);

const COPIED = 0x80000000;

describe("Qcow2Map", () => {
  it("maps data clusters to their host offsets, merging neighbours, and zero clusters as zero", async () => {
    const img = image();
    img.setL2(0, COPIED, 3 * CLUSTER);
    img.setL2(1, COPIED, 4 * CLUSTER);
    img.setL2(2, COPIED, 6 * CLUSTER);
    img.setL2(3, 0, 1);
    img.setL2(4, COPIED, 5 * CLUSTER + 1);
    const map = await open(img.file);
    expect(await map.segments(100, 5 * CLUSTER - 100)).toEqual([
      { kind: "data", offset: 100, length: 2 * CLUSTER - 100, host: 3 * CLUSTER + 100 },
      { kind: "data", offset: 2 * CLUSTER, length: CLUSTER, host: 6 * CLUSTER },
      { kind: "zero", offset: 3 * CLUSTER, length: 2 * CLUSTER },
    ]);
    // Unallocated (a backing file could show through): left to qemu.
    expect(await map.segments(5 * CLUSTER, CLUSTER)).toEqual([{ kind: "other", offset: 5 * CLUSTER, length: CLUSTER }]);
  });

  it("leaves to qemu compressed clusters, reserved bits, and offsets outside the file or misaligned", async () => {
    const img = image();
    img.setL2(0, COPIED | 0x40000000, 3 * CLUSTER);
    img.setL2(1, COPIED | 0x01000000, 3 * CLUSTER);
    img.setL2(2, COPIED, (3 * CLUSTER) | 0x2);
    img.setL2(3, COPIED, 8 * CLUSTER);
    img.setL2(4, COPIED, 3 * CLUSTER + 512);
    img.setL2(5, 0x00000001, 0);
    const map = await open(img.file);
    expect(await map.segments(0, 6 * CLUSTER)).toEqual([{ kind: "other", offset: 0, length: 6 * CLUSTER }]);
  });

  it("leaves to qemu a range whose L2 table is missing or outside the file", async () => {
    const missing = image();
    missing.file.writeUInt32BE(0, CLUSTER + 4);
    expect(await (await open(missing.file)).segments(0, CLUSTER)).toEqual([
      { kind: "other", offset: 0, length: CLUSTER },
    ]);
    const outside = image();
    outside.file.writeUInt32BE(64 * CLUSTER, CLUSTER + 4);
    expect(await (await open(outside.file)).segments(0, CLUSTER)).toEqual([
      { kind: "other", offset: 0, length: CLUSTER },
    ]);
  });

  it("maps nothing of an image it does not fully understand", async () => {
    for (const [options, why] of [
      [{ incompatible: 0x2 }, /incompatible features/],
      [{ incompatible: 0x4 }, /incompatible features/],
      [{ incompatible: 0x10 }, /incompatible features/],
      [{ crypt: 2 }, /encrypted/],
    ] as const) {
      const img = image(options);
      img.setL2(0, COPIED, 3 * CLUSTER);
      const map = await open(img.file);
      expect(map.unmapped).toMatch(why);
      expect(await map.segments(0, CLUSTER)).toEqual([{ kind: "other", offset: 0, length: CLUSTER }]);
    }
    // The dirty bit concerns refcounts only.
    const dirty = image({ incompatible: 0x1 });
    dirty.setL2(0, COPIED, 3 * CLUSTER);
    expect((await open(dirty.file)).unmapped).toBeNull();
  });

  it("reads version 2 images, whose L2 entries have no zero flag", async () => {
    const img = image({ version: 2 });
    img.setL2(0, COPIED, 3 * CLUSTER);
    img.setL2(1, 0, 1);
    const map = await open(img.file);
    expect(await map.segments(0, 2 * CLUSTER)).toEqual([
      { kind: "data", offset: 0, length: CLUSTER, host: 3 * CLUSTER },
      { kind: "other", offset: CLUSTER, length: CLUSTER },
    ]);
  });

  it("refuses what is not a qcow2 it can read, and ranges outside the image", async () => {
    expect(parseQcow2Header(Buffer.alloc(112), 112)).toEqual({ invalid: "not a qcow2 image" });
    const v4 = image({ version: 4 });
    await expect(open(v4.file)).rejects.toThrow(/qcow2 version 4/);
    const tooSmallL1 = image();
    tooSmallL1.file.writeUInt32BE(0, 36);
    expect((await open(tooSmallL1.file)).unmapped).toMatch(/L1 size 0/);
    const map = await open(image().file);
    await expect(map.segments(SIZE - 512, 1024)).rejects.toThrow(RangeError);
  });
});
