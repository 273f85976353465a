// Reading /proc: is a pid still the process we started? A pid alone can be reused by the
// kernel after a restart, so a process is "ours" only when its start time (field 22 of
// /proc/PID/stat, clock ticks since boot) matches the one recorded at spawn.
// Here in lib/proc because the process helper's callers (lib/proc/child.ts) need it too.
import "server-only";
import { promises as fs } from "node:fs";

export type ProcStat = { pid: number; comm: string; state: string; ppid: number; startTime: bigint };

/**
 * Parse /proc/PID/stat. `comm` is in parentheses and may itself hold spaces or ')', so the
 * fields are counted from the LAST ')' (proc(5)).
 */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // After ") " come field 3 (state), 4 (ppid), … 22 (starttime): index 19 of the rest.
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  if (!Number.isInteger(pid) || rest.length < 20 || !/^\d+$/.test(rest[19])) return null;
  return { pid, comm, state: rest[0], ppid: Number(rest[1]), startTime: BigInt(rest[19]) };
}

/** argv of a process from /proc/PID/cmdline (NUL-separated). */
export function parseCmdline(raw: Buffer | string): string[] {
  const text = typeof raw === "string" ? raw : raw.toString("utf8");
  return text.split("\0").filter((part, i, all) => part !== "" || i < all.length - 1);
}

export async function readProcStat(pid: number): Promise<ProcStat | null> {
  try {
    return parseProcStat(await fs.readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

export async function readCmdline(pid: number): Promise<string[] | null> {
  try {
    return parseCmdline(await fs.readFile(`/proc/${pid}/cmdline`));
  } catch {
    return null;
  }
}

/**
 * True while `pid` runs and (when given) started at `startTime`. A zombie counts as gone:
 * an adopted qemu-nbd is no longer our child, and a container's init may never reap it.
 */
export async function isProcessAlive(pid: number, startTime?: bigint | null): Promise<boolean> {
  const stat = await readProcStat(pid);
  if (!stat || stat.state === "Z" || stat.state === "X") return false;
  return startTime === undefined || startTime === null || stat.startTime === startTime;
}

/** Every pid listed in /proc. */
export async function listPids(): Promise<number[]> {
  const entries = await fs.readdir("/proc");
  return entries.filter((e) => /^\d+$/.test(e)).map(Number);
}

/** Send a signal; false when the process is already gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}
