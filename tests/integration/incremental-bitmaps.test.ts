// Persistent dirty bitmaps on qcow2 sources through lib/backup/bitmaps.ts, with real qemu-img,
// qemu-io and qemu-nbd: the life cycle, every reason a bitmap cannot be trusted, and a source
// held open for writing (SourceBusy at once, never a hang).
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BitmapCommandError,
  SourceBusy,
  addBitmap,
  checkBitmap,
  listBitmaps,
  removeBitmap,
} from "@/lib/backup/bitmaps";
import { startQemuNbd, type QemuNbdServer } from "../helpers/qemu-nbd-server";
import { waitFor } from "../helpers/wait";

const MiB = 1024 * 1024;
let dir: string;
let servers: QemuNbdServer[] = [];
let n = 0;

async function image(sizeMiB = 16): Promise<string> {
  n += 1;
  const file = path.join(dir, `src-${n}.qcow2`);
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", file, `${sizeMiB}M`]);
  return file;
}

/** A qemu-nbd serving the image read-write: it holds qemu's write lock, as a running VM does. */
async function holdForWriting(file: string): Promise<QemuNbdServer> {
  const s = await startQemuNbd(file, { format: "qcow2", unix: true });
  servers.push(s);
  return s;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-bitmaps-"));
});
afterEach(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  servers = [];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("dirty bitmaps on qcow2 sources", () => {
  it("adds, lists and removes bitmaps; removing a missing one is not an error", async () => {
    const file = await image();
    expect(await listBitmaps(file)).toEqual([]);
    await addBitmap(file, "nbdhub-job1");
    await addBitmap(file, "nbdhub-job2", { granularity: 128 * 1024 });
    expect(await listBitmaps(file)).toEqual([
      { name: "nbdhub-job1", granularity: 65536, flags: ["auto"], inUse: false, recording: true },
      { name: "nbdhub-job2", granularity: 131072, flags: ["auto"], inUse: false, recording: true },
    ]);
    const twice = await addBitmap(file, "nbdhub-job1").catch((e: unknown) => e);
    expect(twice).toBeInstanceOf(BitmapCommandError);
    expect((twice as Error).message).toMatch(/adding bitmap nbdhub-job1 on .* failed: .*already exists/);
    expect(await removeBitmap(file, "nbdhub-job1")).toBe(true);
    expect(await removeBitmap(file, "nbdhub-job1")).toBe(false);
    expect((await listBitmaps(file)).map((b) => b.name)).toEqual(["nbdhub-job2"]);
    expect(await checkBitmap(file, "nbdhub-job2", 16 * MiB)).toEqual({ usable: true, granularity: 131072 });
  });

  it("refuses names that could be read as options, and files that are not qcow2", async () => {
    const file = await image();
    await expect(addBitmap(file, "-g")).rejects.toThrow("not a valid bitmap name");
    const raw = path.join(dir, "plain.raw");
    await writeFile(raw, Buffer.alloc(MiB));
    await expect(listBitmaps(raw)).rejects.toThrow(/reading the bitmaps on .*plain\.raw failed: .*qcow2/);
    // A relative name starting with "-" is still a file, not an option.
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await execa("qemu-img", ["create", "-q", "-f", "qcow2", "--", "-odd.qcow2", "1M"]);
      await addBitmap("-odd.qcow2", "b0");
      expect((await listBitmaps("-odd.qcow2")).map((b) => b.name)).toEqual(["b0"]);
    } finally {
      process.chdir(cwd);
    }
  });

  it("says why a bitmap cannot be trusted: missing, resized, disabled", async () => {
    const file = await image(16);
    expect(await checkBitmap(file, "nbdhub-gone", 16 * MiB)).toEqual({
      usable: false,
      problem: "missing",
      reason: "bitmap nbdhub-gone is missing on the source (deleted by hand or the source was replaced)",
    });
    await addBitmap(file, "nbdhub-a");
    await execa("qemu-img", ["resize", "-f", "qcow2", file, "32M"]);
    expect(await checkBitmap(file, "nbdhub-a", 16 * MiB)).toEqual({
      usable: false,
      problem: "resized",
      reason: "the disk was resized since the last backup (16.0 MiB then, 32.0 MiB now)",
    });
    await execa("qemu-img", ["bitmap", "--disable", "-f", "qcow2", file, "nbdhub-a"]);
    expect(await checkBitmap(file, "nbdhub-a", 32 * MiB)).toEqual({
      usable: false,
      problem: "disabled",
      reason: "bitmap nbdhub-a is disabled: it did not record writes",
    });
  });

  it("does not trust a bitmap left in-use by a writer killed with SIGKILL, and can remove it", async () => {
    const file = await image();
    await addBitmap(file, "nbdhub-crash");
    const writer = await holdForWriting(file);
    await execa("qemu-io", ["-f", "raw", "-c", "write -P 7 0 64k", `nbd+unix:///?socket=${writer.socketPath}`]);
    writer.process.kill("SIGKILL");
    const dead = () => writer.process.exitCode !== null || writer.process.signalCode !== null;
    await waitFor(dead, { what: "qemu-nbd to die" });
    expect((await listBitmaps(file))[0]).toMatchObject({ name: "nbdhub-crash", inUse: true });
    expect(await checkBitmap(file, "nbdhub-crash", 16 * MiB)).toEqual({
      usable: false,
      problem: "in-use",
      reason: "bitmap nbdhub-crash was left inconsistent (in-use) by a writer that did not close cleanly",
    });
    // qemu-nbd refuses to export it, which is why nothing may plan on it.
    const args = ["-r", "-f", "qcow2", "-B", "nbdhub-crash", "-k", path.join(dir, "x.sock"), file];
    const refused = await execa("qemu-nbd", args, { reject: false, timeout: 10_000 });
    expect(refused.stderr).toContain("inconsistent");
    expect(await removeBitmap(file, "nbdhub-crash")).toBe(true);
    await addBitmap(file, "nbdhub-next");
    expect(await checkBitmap(file, "nbdhub-next", 16 * MiB)).toEqual({ usable: true, granularity: 65536 });
  });

  it("fails with SourceBusy within seconds while another process holds the source open for writing", async () => {
    const file = await image();
    await addBitmap(file, "nbdhub-held");
    await holdForWriting(file);
    for (const attempt of [
      () => addBitmap(file, "nbdhub-new"),
      () => removeBitmap(file, "nbdhub-held"),
      () => checkBitmap(file, "nbdhub-held", 16 * MiB),
    ]) {
      const started = Date.now();
      const error = await attempt().catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(error).toBeInstanceOf(SourceBusy);
      expect((error as Error).message).toContain(`the source ${file} is open for writing in another process`);
    }
    // Reading the list needs no lock: the bitmap shows as in use by the live writer.
    expect((await listBitmaps(file))[0]).toMatchObject({ name: "nbdhub-held", inUse: true });
  });

  it("runs qemu-img with a minimal environment and gives up after its timeout", async () => {
    const bin = path.join(dir, "fake-bin");
    const envDump = path.join(dir, "env.txt");
    await execa("mkdir", ["-p", bin]);
    const fake = path.join(bin, "qemu-img");
    await writeFile(
      fake,
      `#!/bin/sh\nenv > ${envDump}\n[ "$2" = "--add" ] && exec sleep 30\n` +
        `echo '{"virtual-size": 1048576, "format": "qcow2"}'\n`,
    );
    await chmod(fake, 0o755);
    const saved = { PATH: process.env.PATH, secret: process.env.NBDHUB_TEST_SECRET };
    process.env.PATH = `${bin}:${saved.PATH}`;
    process.env.NBDHUB_TEST_SECRET = "must-not-leak";
    try {
      expect(await listBitmaps(path.join(dir, "any.qcow2"))).toEqual([]);
      const env = (await readFile(envDump, "utf8"))
        .trim()
        .split("\n")
        .map((l) => l.split("=")[0])
        .sort();
      // The environment of every child of lib/ (lib/proc/child-env.ts): PATH and the locale only.
      expect(env.filter((k) => k !== "PWD" && k !== "SHLVL" && k !== "_")).toEqual(["LANG", "LC_ALL", "PATH"]);
      const started = Date.now();
      const error = await addBitmap(path.join(dir, "any.qcow2"), "b1", { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BitmapCommandError);
      expect((error as Error).message).toContain("qemu-img did not finish in 300 ms");
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.secret === undefined) delete process.env.NBDHUB_TEST_SECRET;
      else process.env.NBDHUB_TEST_SECRET = saved.secret;
    }
  });
});
