// How much a process did: its I/O counters (/proc/PID/io rchar + wchar: bytes through read and
// write calls on files) and the CPU time all its threads ran (/proc/PID/task/*/schedstat, ns).
// Socket traffic (recv/send) is in neither I/O counter, so a mover reading a slow NBD source is
// seen by its CPU time: each chunk it receives costs some. A stopped process (SIGSTOP), or one
// blocked on a hung peer or on storage, moves neither. What the stall watch
// (lib/backup/stall-watch.ts) needs to tell a slow copy from a stuck one.
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

/** Nanoseconds all threads of `pid` have run on a CPU (threads that ended are not counted). */
export async function cpuNanosOf(pid: number): Promise<bigint | null> {
  try {
    const threads = await fs.readdir(`/proc/${pid}/task`);
    let total = BigInt(0);
    for (const tid of threads) {
      const text = await fs.readFile(`/proc/${pid}/task/${tid}/schedstat`, "utf8").catch(() => "0");
      total += BigInt(/^\d+/.exec(text)?.[0] ?? "0");
    }
    return total;
  } catch {
    return null;
  }
}

/** Whether `pid` is stopped (SIGSTOP, or traced): state T or t in /proc/PID/stat. */
export async function isStopped(pid: number): Promise<boolean> {
  const text = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  // The state follows the last ")" (comm may hold spaces and parentheses).
  const state = text.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3);
  return state === "T" || state === "t";
}

/**
 * A fingerprint of what `pid` did so far: changes whenever it read, wrote or ran; "gone" once it
 * ended; "stopped" while it is stopped (whatever the others still do, a copy through a stopped
 * process cannot get anywhere: a mover drains its requests in flight into memory for seconds).
 */
export async function activityOf(pid: number): Promise<string> {
  if (await isStopped(pid)) return "stopped";
  const [io, cpu] = await Promise.all([ioBytesOf(pid), cpuNanosOf(pid)]);
  return io === null && cpu === null ? "gone" : `${io ?? "-"}/${cpu ?? "-"}`;
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
