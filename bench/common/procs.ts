// Every process the benchmark starts, so that it can end them all, even after a failure: its
// own children (tracked here), and the qemu-nbd / nbdcopy that its server started (found in
// /proc by the benchmark's own temporary directory, which is in their command lines).
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { promises as fs } from "node:fs";

const children = new Map<ChildProcess, string>();

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** spawn() and remember the child until it exits. */
export function spawnTracked(
  cmd: string,
  args: string[],
  options: SpawnOptions = {},
  group = "tools",
): { child: ChildProcess; exited: Promise<Exit> } {
  const child = spawn(cmd, args, options);
  children.set(child, group);
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
    child.once("error", () => {
      children.delete(child);
      resolve({ code: null, signal: null });
    });
  });
  return { child, exited };
}

/** Run a command to its end; rejects with its stderr on a non-zero exit. */
export async function run(cmd: string, args: string[], options: SpawnOptions = {}): Promise<string> {
  const { child, exited } = spawnTracked(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const { code, signal } = await exited;
  if (code !== 0)
    throw new Error(
      `${cmd} ${args.join(" ")}: ${signal ? `killed by ${signal}` : `exit ${code}`}: ${err.trim().split("\n").slice(-3).join("; ")}`,
    );
  return out;
}

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

/** SIGTERM every tracked child (of `group`, or all), SIGKILL what is left after `graceMs`. */
export async function endChildren(group?: string, graceMs = 3000): Promise<void> {
  const mine = () =>
    [...children.entries()].filter(([c, g]) => alive(c) && (group === undefined || g === group)).map(([c]) => c);
  for (const c of mine()) c.kill("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && mine().length) await new Promise((r) => setTimeout(r, 50));
  for (const c of mine()) c.kill("SIGKILL");
}

export type ProcInfo = { pid: number; ppid: number; comm: string; state: string };

export async function readStat(pid: number): Promise<ProcInfo | null> {
  try {
    const text = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    const open = text.indexOf("(");
    const close = text.lastIndexOf(")");
    const rest = text
      .slice(close + 2)
      .trim()
      .split(/\s+/);
    return { pid, comm: text.slice(open + 1, close), state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return null;
  }
}

export async function allProcs(): Promise<ProcInfo[]> {
  const pids = (await fs.readdir("/proc")).filter((e) => /^\d+$/.test(e)).map(Number);
  return (await Promise.all(pids.map(readStat))).filter((p): p is ProcInfo => p !== null && p.state !== "Z");
}

/** VmRSS of a process in bytes (0 when it is gone). */
export async function rssOf(pid: number): Promise<number> {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(await fs.readFile(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The process and all its descendants. */
export async function treeOf(pid: number): Promise<ProcInfo[]> {
  const procs = await allProcs();
  const byParent = new Map<number, ProcInfo[]>();
  for (const p of procs) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: ProcInfo[] = [];
  const root = procs.find((p) => p.pid === pid);
  const stack = root ? [root] : [];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(byParent.get(p.pid) ?? []));
  }
  return out;
}

/** SIGKILL the processes whose command line mentions `marker` (the benchmark's temp dir). */
export async function killByMarker(
  marker: string,
  names = ["qemu-nbd", "nbdcopy", "nbdinfo", "qemu-img"],
): Promise<number> {
  let killed = 0;
  for (const p of await allProcs()) {
    if (p.pid === process.pid || !names.includes(p.comm)) continue;
    const cmdline = await fs.readFile(`/proc/${p.pid}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes(marker)) continue;
    try {
      process.kill(p.pid, "SIGKILL");
      killed += 1;
    } catch {
      /* gone */
    }
  }
  return killed;
}
