// After a crash of the server, movers (nbdcopy) it started may still run, writing into exports
// that are about to be stopped. They carry our run dir in their environment (MOVER_MARK), and
// so do the qemu-nbd helpers they start: find them and end them, so no process is left that
// no row knows.
import "server-only";
import { promises as fs } from "node:fs";
import type { Logger } from "@/lib/log";
import { listPids } from "@/lib/proc/stat";
import { MOVER_MARK } from "./mover";

export async function killOrphanMovers(runDir: string, log: Logger): Promise<number[]> {
  const mark = Buffer.from(`${MOVER_MARK}=${runDir}\0`);
  const killed: number[] = [];
  for (const pid of await listPids()) {
    if (pid === process.pid) continue;
    const environ = await fs.readFile(`/proc/${pid}/environ`).catch(() => null);
    if (!environ || !Buffer.concat([environ, Buffer.from("\0")]).includes(mark)) continue;
    const comm = (await fs.readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
    // nbdcopy, and the private qemu-nbd it starts for a qcow2 source (it inherits the mark;
    // the export manager's own qemu-nbd never carries it).
    if (comm !== "nbdcopy" && comm !== "qemu-nbd") continue;
    try {
      process.kill(pid, "SIGKILL");
      killed.push(pid);
      log.info("ended an orphan mover left by a previous run", { pid });
    } catch {
      /* already gone */
    }
  }
  return killed;
}
