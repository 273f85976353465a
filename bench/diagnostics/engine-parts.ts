// What the engine-alone diagnostics share: qemu-nbd on a Unix socket in a scratch folder (ready
// when its pid file exists, as the product waits), qemu-img, and a qcow2 disk of random data.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import path from "node:path";

const MiB = 1024 * 1024;
let sockets = 0;

export async function qemuNbd(dir: string, image: string, format: string, extra: string[]) {
  sockets += 1;
  const socket = path.join(dir, `s${sockets}.sock`);
  const pidFile = path.join(dir, `s${sockets}.pid`);
  const args = ["-f", format, "-t", "-e", "8", "-k", socket, `--pid-file=${pidFile}`, ...extra, image];
  const child = spawn("qemu-nbd", args, { stdio: "ignore" });
  const deadline = Date.now() + 10_000;
  while (!existsSync(pidFile)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("qemu-nbd did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    uri: `nbd+unix:///?socket=${socket}`,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export const qemuImg = (...args: string[]) => execFileSync("qemu-img", args, { encoding: "utf8" });

/** `dir`/disk.qcow2: `sizeMiB` of random data throughout (the worst case for a full copy). */
export async function randomQcow2(dir: string, sizeMiB: number): Promise<string> {
  const raw = path.join(dir, "disk.raw");
  const fh = await open(raw, "w");
  for (let i = 0; i < sizeMiB; i += 1) await fh.write(randomBytes(MiB), 0, MiB, i * MiB);
  await fh.close();
  const source = path.join(dir, "disk.qcow2");
  qemuImg("convert", "-f", "raw", "-O", "qcow2", raw, source);
  await rm(raw);
  return source;
}
