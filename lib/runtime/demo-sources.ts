// Demo sources for a new user: when the sources directory is empty at first start, two small
// disk images (part random data, part zeros; one raw, one qcow2) so a real backup can be run
// at once. Written under a temporary name and renamed, so a half-written image never shows.
import "server-only";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { runChild } from "@/lib/proc/child";
import type { Logger } from "@/lib/log";

const MiB = 1024 * 1024;

async function writeImage(file: string, sizeMiB: number, randomMiB: number): Promise<void> {
  const handle = await fs.open(file, "w");
  try {
    await handle.truncate(sizeMiB * MiB);
    // Random data in scattered 4 MiB blocks, zeros elsewhere (left as holes).
    const blocks = randomMiB / 4;
    const stride = Math.floor(sizeMiB / 4 / blocks);
    for (let i = 0; i < blocks; i += 1) {
      await handle.write(randomBytes(4 * MiB), 0, 4 * MiB, i * stride * 4 * MiB);
    }
  } finally {
    await handle.close();
  }
}

export async function ensureDemoSources(sourcesDir: string, log: Logger): Promise<void> {
  const entries = await fs.readdir(sourcesDir).catch(() => [] as string[]);
  if (entries.some((e) => !e.startsWith("."))) return;
  const rawTmp = path.join(sourcesDir, ".demo-raw.img.tmp");
  const qcowRawTmp = path.join(sourcesDir, ".demo-qcow2.raw.tmp");
  const qcowTmp = path.join(sourcesDir, ".demo-qcow2.qcow2.tmp");
  log.info(`creating demo sources in ${sourcesDir}`);
  await writeImage(rawTmp, 256, 96);
  await writeImage(qcowRawTmp, 320, 128);
  await runChild("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", qcowRawTmp, qcowTmp]);
  await fs.rm(qcowRawTmp, { force: true });
  await fs.rename(rawTmp, path.join(sourcesDir, "demo-raw.img"));
  await fs.rename(qcowTmp, path.join(sourcesDir, "demo-qcow2.qcow2"));
  log.info("demo sources ready: demo-raw.img (256 MiB raw), demo-qcow2.qcow2 (320 MiB qcow2)");
}
