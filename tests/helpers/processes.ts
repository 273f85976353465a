// The processes a test server left behind: qemu-nbd with a pid file under its run dir, and
// movers (nbdcopy) marked with it.
import { promises as fs } from "node:fs";

async function pids(): Promise<number[]> {
  return (await fs.readdir("/proc")).filter((e) => /^\d+$/.test(e)).map(Number);
}

export async function processesOf(runDir: string): Promise<{ pid: number; comm: string }[]> {
  const found: { pid: number; comm: string }[] = [];
  for (const pid of await pids()) {
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    if (/\) [ZX] /.test(stat)) continue; // zombies hold nothing
    const comm = (await fs.readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
    if (comm !== "qemu-nbd" && comm !== "nbdcopy") continue;
    const cmdline = (await fs.readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0))).toString();
    const environ = (await fs.readFile(`/proc/${pid}/environ`).catch(() => Buffer.alloc(0))).toString();
    if (cmdline.includes(runDir) || environ.includes(`NBDHUB_MOVER_OF=${runDir}`)) found.push({ pid, comm });
  }
  return found;
}
