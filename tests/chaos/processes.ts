// The processes of one nbdhub data directory, read from /proc and attributed: export qemu-nbd
// (its --pid-file is under the run dir), movers (nbdcopy carrying NBDHUB_MOVER_OF=<run dir>)
// and the private qemu-nbd a mover starts for a qcow2 source (it inherits the mark).
import { promises as fs } from "node:fs";
import path from "node:path";

/**
 * "reader": the private read-only qemu-nbd an incremental reads its source or its previous point
 * through (a Unix socket in the run dir, no pool port); it must be gone once its job ended.
 */
export type ProcKind = "export" | "reader" | "mover" | "mover-helper";

export type Proc = {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
  startTime: string;
  kind: ProcKind;
  argv: string[];
  /** Export: its port and export name. Mover: the port and export name it writes into. */
  port?: number;
  exportName?: string;
  pidFile?: string;
};

/** `exiting`: the kernel's PF_EXITING flag; the process has called exit and its status is decided. */
export type ProcStat = { comm: string; state: string; ppid: number; startTime: string; exiting: boolean };

const PF_EXITING = 0x4;

export async function readStat(pid: number): Promise<ProcStat | null> {
  const text = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  return {
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: Number(rest[1]),
    startTime: rest[19],
    exiting: (Number(rest[6]) & PF_EXITING) !== 0,
  };
}

/** Alive and not a zombie (a zombie holds no port and no file). */
export async function isAlive(pid: number, startTime?: string): Promise<boolean> {
  const stat = await readStat(pid);
  if (!stat || stat.state === "Z" || stat.state === "X") return false;
  return startTime === undefined || stat.startTime === startTime;
}

function optionValue(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i].startsWith(`${name}=`)) return argv[i].slice(name.length + 1);
  }
  return undefined;
}

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

export async function listProcesses(runDir: string): Promise<Proc[]> {
  const mark = `NBDHUB_MOVER_OF=${runDir}`;
  const out: Proc[] = [];
  const pids = (await fs.readdir("/proc")).filter((e) => /^\d+$/.test(e)).map(Number);
  for (const pid of pids) {
    const comm = (await fs.readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
    if (comm !== "qemu-nbd" && comm !== "nbdcopy") continue;
    const stat = await readStat(pid);
    if (!stat || stat.state === "Z" || stat.state === "X") continue;
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0)))
      .toString("utf8")
      .split("\0")
      .filter(Boolean);
    const environ = (await fs.readFile(`/proc/${pid}/environ`).catch(() => Buffer.alloc(0)))
      .toString("utf8")
      .split("\0");
    const marked = environ.includes(mark);
    const base = { pid, ppid: stat.ppid, comm, state: stat.state, startTime: stat.startTime, argv };
    if (comm === "qemu-nbd") {
      const pidFile = optionValue(argv, "--pid-file");
      if (pidFile && inside(runDir, pidFile) && optionValue(argv, "--socket") !== undefined) {
        out.push({ ...base, kind: "reader", pidFile });
      } else if (pidFile && inside(runDir, pidFile)) {
        const port = Number(optionValue(argv, "--port") ?? optionValue(argv, "-p"));
        out.push({
          ...base,
          kind: "export",
          pidFile,
          port: Number.isFinite(port) ? port : undefined,
          exportName: optionValue(argv, "--export-name") ?? optionValue(argv, "-x"),
        });
      } else if (marked) out.push({ ...base, kind: "mover-helper" });
    } else if (marked) {
      const dest = [...argv].reverse().find((a) => a.startsWith("nbd://"));
      let port: number | undefined;
      let exportName: string | undefined;
      if (dest) {
        try {
          const url = new URL(dest);
          port = Number(url.port);
          exportName = decodeURIComponent(url.pathname.replace(/^\//, ""));
        } catch {
          /* not a URL we understand */
        }
      }
      out.push({ ...base, kind: "mover", port, exportName });
    }
  }
  // A helper belongs to its mover: give it the mover's destination.
  for (const p of out) {
    if (p.kind !== "mover-helper") continue;
    const parent = out.find((q) => q.pid === p.ppid && q.kind === "mover");
    if (parent) {
      p.port = parent.port;
      p.exportName = parent.exportName;
    }
  }
  return out;
}

/** The VM a process works for: export names are `<vmName>-<diskId>` and campaign VMs have no '-'. */
export function vmOf(proc: Proc): string | undefined {
  return proc.exportName?.split("-")[0];
}
