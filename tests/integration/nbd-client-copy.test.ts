// The copy helper between real servers: scattered ranges into a qcow2 export (what an
// incremental backup does), a full copy checked against nbdcopy's, pools, abort and errors.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NbdError, connect, copy, openPool, type CopyProgress } from "@/lib/nbd/client";
import { makeImage } from "../helpers/images";
import { startNbdkitServer } from "../helpers/nbdkit";
import { startQemuNbd } from "../helpers/qemu-nbd-server";

const KiB = 1024;
const MiB = 1024 * 1024;
let dir: string;
let stops: (() => Promise<void>)[] = [];

async function qemuNbd(...args: Parameters<typeof startQemuNbd>) {
  const s = await startQemuNbd(...args);
  stops.push(s.stop);
  return s;
}
async function nbdkit(...args: Parameters<typeof startNbdkitServer>) {
  const s = await startNbdkitServer(...args);
  stops.push(s.stop);
  return s;
}
async function compare(rawFile: string, qcow2: string): Promise<{ exitCode?: number; output: string }> {
  const r = await execa("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", rawFile, qcow2], { reject: false });
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "nbdc-copy-"));
});
afterEach(async () => {
  await Promise.all(stops.map((s) => s()));
  stops = [];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("copy", () => {
  it("copies scattered ranges into a qcow2 export so that qemu-img compare matches the expected image", async () => {
    // Source: random MiBs at even MiB offsets below 16 MiB, zeroes elsewhere.
    const sourceFile = await makeImage(path.join(dir, "src.raw"), { sizeMiB: 32, randomMiB: 8 });
    const source = await readFile(sourceFile);
    // Destination: old contents everywhere, so zero regions must really be zeroed.
    const destFile = path.join(dir, "dst.qcow2");
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", destFile, "32M"]);
    await execa("qemu-io", ["-f", "qcow2", "-c", "write -P 0xcd 0 32M", destFile]);
    const ranges = [
      { offset: 31 * MiB, length: MiB },
      { offset: 0, length: MiB + 512 * KiB },
      { offset: 3 * MiB + 4 * KiB, length: 3 * MiB },
      { offset: 10 * MiB - 512, length: 5 * MiB },
      { offset: 20 * MiB, length: 6 * MiB }, // zero in the source
    ];
    const expected = Buffer.alloc(32 * MiB, 0xcd);
    for (const r of ranges) source.copy(expected, r.offset, r.offset, r.offset + r.length);
    const expectedFile = path.join(dir, "expected.raw");
    await writeFile(expectedFile, expected);

    const src = await qemuNbd(sourceFile, { readOnly: true });
    const dst = await qemuNbd(destFile, { format: "qcow2", unix: true });
    const from = await connect(src.uri);
    const to = await connect(dst.uri);
    const progress: CopyProgress[] = [];
    try {
      const onProgress = (p: CopyProgress) => progress.push(p);
      const result = await copy(from, to, { ranges, inFlight: 16, requestSize: MiB, onProgress });
      const total = ranges.reduce((n, r) => n + r.length, 0);
      expect(result.bytesWritten + result.bytesZeroed).toBe(total);
      expect(result.bytesSkipped).toBe(0);
      // Zero extents of the source (20–26 MiB and the gaps) were never read.
      expect(result.bytesRead).toBeLessThan(total - 6 * MiB);
      expect(result.bytesZeroed).toBeGreaterThanOrEqual(6 * MiB);
      expect(progress.at(-1)).toEqual({ done: total, total });
      expect(progress.every((p, i) => i === 0 || p.done > progress[i - 1].done)).toBe(true);
    } finally {
      await Promise.all([from.disconnect(), to.disconnect()]);
    }
    await dst.stop();
    const cmp = await compare(expectedFile, destFile);
    expect(cmp.exitCode, cmp.output).toBe(0);
  });

  it("makes a full copy into a fresh qcow2 identical to nbdcopy's, without writing zeroes", async () => {
    const sourceFile = await makeImage(path.join(dir, "full.raw"), { sizeMiB: 48, randomMiB: 12 });
    const mine = path.join(dir, "mine.qcow2");
    const theirs = path.join(dir, "theirs.qcow2");
    for (const f of [mine, theirs]) await execa("qemu-img", ["create", "-q", "-f", "qcow2", f, "48M"]);
    const src = await qemuNbd(sourceFile, { readOnly: true });
    const dstMine = await qemuNbd(mine, { format: "qcow2" });
    const dstTheirs = await qemuNbd(theirs, { format: "qcow2" });
    const from = await openPool(src.uri, { connections: 2 });
    const to = await connect(dstMine.uri);
    try {
      const result = await copy(from, to, { destinationIsZero: true });
      expect(result).toEqual({ bytesRead: 12 * MiB, bytesWritten: 12 * MiB, bytesZeroed: 0, bytesSkipped: 36 * MiB });
    } finally {
      await Promise.all([from.disconnect(), to.disconnect()]);
    }
    await execa("nbdcopy", ["--destination-is-zero", src.uri, dstTheirs.uri]);
    await Promise.all([dstMine.stop(), dstTheirs.stop()]);
    const vsSource = await compare(sourceFile, mine);
    expect(vsSource.exitCode, vsSource.output).toBe(0);
    const vsNbdcopy = await execa("qemu-img", ["compare", "-f", "qcow2", "-F", "qcow2", mine, theirs], {
      reject: false,
    });
    expect(vsNbdcopy.exitCode, vsNbdcopy.stdout).toBe(0);
    // Zeroes were not written: the qcow2 holds only the 12 MiB of data (plus metadata).
    const { stdout } = await execa("qemu-img", ["info", "--output=json", mine]);
    expect((JSON.parse(stdout) as { "actual-size": number })["actual-size"]).toBeLessThan(14 * MiB);
  });

  it("stops at once when aborted, and fails with the source's error", async () => {
    const slow = await nbdkit(["pattern", "size=256M", "rate=4M"], { filters: ["rate"] });
    const sink = await nbdkit(["memory", "size=256M"]);
    const from = await connect(slow.uri);
    const to = await connect(sink.uri);
    try {
      const ac = new AbortController();
      let stoppedAt = 0;
      const copying = copy(from, to, {
        signal: ac.signal,
        inFlight: 4,
        requestSize: 256 * KiB,
        onProgress: () => {
          if (!ac.signal.aborted) {
            ac.abort(new Error("stop the backup"));
            stoppedAt = Date.now();
          }
        },
      });
      await expect(copying).rejects.toThrow("stop the backup");
      expect(Date.now() - stoppedAt).toBeLessThan(1000);
    } finally {
      await Promise.all([from.disconnect(), to.disconnect()]);
    }

    const failing = await nbdkit(["pattern", "size=64M", "error-pread=EIO", "error-pread-rate=100%"], {
      filters: ["error"],
    });
    const bad = await connect(failing.uri);
    const to2 = await connect(sink.uri);
    try {
      const err = await copy(bad, to2).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NbdError);
      expect(err).toMatchObject({ code: "EIO", command: "READ" });
    } finally {
      await Promise.all([bad.disconnect(), to2.disconnect()]);
    }
  });
});
