// Disk images for tests: part random data, part zeros; raw or qcow2.
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

// node:child_process, not execa: the benchmark loads these helpers as CommonJS, and execa is ESM-only.
const run = promisify(execFile);

const MiB = 1024 * 1024;

export async function makeImage(
  file: string,
  { sizeMiB, randomMiB, format = "raw" }: { sizeMiB: number; randomMiB: number; format?: "raw" | "qcow2" },
): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const raw = format === "raw" ? file : `${file}.raw-tmp`;
  const handle = await fs.open(raw, "w");
  try {
    await handle.truncate(sizeMiB * MiB);
    for (let i = 0; i < randomMiB; i += 1) await handle.write(randomBytes(MiB), 0, MiB, i * 2 * MiB);
  } finally {
    await handle.close();
  }
  if (format === "qcow2") {
    await run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, file]);
    await fs.rm(raw);
  }
  return file;
}

/** qemu-img compare: true when the guest-visible contents are identical. */
export async function imagesIdentical(a: string, aFormat: string, b: string): Promise<boolean> {
  return run("qemu-img", ["compare", "-q", "-f", aFormat, "-F", "qcow2", a, b]).then(
    () => true,
    () => false,
  );
}

export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string) {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(p);
    }
  }
  await walk(dir);
  return out;
}
