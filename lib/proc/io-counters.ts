// A process's own I/O counters (/proc/PID/io rchar + wchar: bytes through read and write
// calls, sockets included) and its direct children. A stopped or hung process's counters
// stand still; a slow one's keep moving — what the stall watch (lib/backup/stall-watch.ts)
// needs to tell the two apart.
import "server-only";
import { promises as fs } from "node:fs";

/** rchar + wchar of `pid`, or null when it is gone (or not readable). */
export async function ioBytesOf(pid: number): Promise<bigint | null> {
  try {
    const text = await fs.readFile(`/proc/${pid}/io`, "utf8");
    const field = (name: string) => BigInt(new RegExp(`^${name}:\\s*(\\d+)`, "m").exec(text)?.[1] ?? "0");
    return field("rchar") + field("wchar");
  } catch {
    return null;
  }
}

/** Direct children of `pid` (its main thread's), e.g. the private qemu-nbd nbdcopy starts. */
export async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await fs.readFile(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
