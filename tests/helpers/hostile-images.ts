// Disk images made to attack the hub: real qcow2 images whose external data file or backing
// file is a host file outside the sources root (a "secret"), saved under any name, e.g. a raw
// disk's `.img` name, as a guest that wrote a qcow2 header into its raw disk would leave it.
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { execa } from "execa";

/** A host file the hub must never copy into a backup: random bytes, `sizeBytes` long. */
export async function makeSecret(file: string, sizeBytes = 1024 * 1024): Promise<Buffer> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const bytes = randomBytes(sizeBytes);
  await fs.writeFile(file, bytes);
  return bytes;
}

/**
 * A qcow2 image at `file` whose guest-visible contents are the bytes of `secret`, read through
 * an external raw data file. `qemu-img create` truncates the data file, so the secret is
 * written back afterwards.
 */
export async function qcow2WithDataFile(file: string, secret: string, secretBytes: Buffer): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const opts = `data_file=${secret},data_file_raw=on`;
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-o", opts, file, String(secretBytes.length)]);
  await fs.writeFile(secret, secretBytes);
}

/** A qcow2 image at `file` whose unwritten clusters read from `secret` (its raw backing file). */
export async function qcow2WithBackingFile(file: string, secret: string, sizeBytes: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", file, String(sizeBytes)]);
}

/** True when `image` read as `format` holds exactly the bytes of `target` (a qcow2). */
export async function sameContents(image: string, format: "raw" | "qcow2", target: string): Promise<boolean> {
  const args = ["compare", "-q", "-U", "-f", format, "-F", "qcow2", image, target];
  const r = await execa("qemu-img", args, { reject: false });
  return r.exitCode === 0;
}
