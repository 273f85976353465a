// Shared by the nbd-*.test.ts files: images, NBD client checks, and the qemu-nbd processes a
// test started (found in /proc by their pid file, which lives under the test's data dir).
import { mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

export async function makeQcow2(file: string, size = "16M"): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await execa("qemu-img", ["create", "-q", "-f", "qcow2", file, size]);
  return file;
}

export type NbdInfo = { exports: { "export-name": string; "export-size": number; is_read_only: boolean }[] };

export async function nbdinfo(uri: string): Promise<NbdInfo> {
  const { stdout } = await execa("nbdinfo", ["--json", uri], { timeout: 10_000 });
  return JSON.parse(stdout) as NbdInfo;
}

/** Live (not zombie) qemu-nbd processes whose --pid-file lies under `dir`. */
export async function qemuNbdUnder(dir: string): Promise<{ pid: number; argv: string[] }[]> {
  const found: { pid: number; argv: string[] }[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0").filter(Boolean);
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state === "Z" || path.basename(argv[0] ?? "") !== "qemu-nbd") continue;
      if (argv.some((a) => a.startsWith(`--pid-file=${dir}`))) found.push({ pid: Number(entry), argv });
    } catch {
      /* the process ended while we looked */
    }
  }
  return found;
}

/** Safety net for afterAll: no test may leave a qemu-nbd running. */
export async function killQemuNbdUnder(dir: string): Promise<number> {
  const left = await qemuNbdUnder(dir);
  for (const { pid } of left) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  return left.length;
}
