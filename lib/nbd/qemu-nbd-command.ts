// The qemu-nbd command, built from named options (the ovirt-imageio way), and read back from
// a process's argv by the reconciler. Pure: no I/O, unit-tested.
import path from "node:path";
import type { Config } from "@/lib/config/env";

export const QEMU_NBD = "qemu-nbd";

export type QemuNbdOptions = {
  exportName: string;
  bind: string;
  port: number;
  /** Client connections allowed at once; one more hangs rather than being refused. */
  shared: number;
  pidFile: string;
  cache: Config["qemuNbdCache"];
  readOnly: boolean;
  file: string;
  /** Require TLS with the pre-shared keys in `dir` (its keys.psk): the path only, never a key. */
  tls?: { credsId: string; dir: string };
};

/** qemu's option syntax: a comma inside a value is written twice. */
const qemuOptValue = (value: string) => value.replace(/,/g, ",,");

export function qemuNbdArgs(o: QemuNbdOptions): string[] {
  // An absolute path can never be taken for an option; callers resolve paths first.
  if (!path.isAbsolute(o.file)) throw new Error(`qemu-nbd needs an absolute image path, got ${o.file}`);
  if (!path.isAbsolute(o.pidFile)) throw new Error(`qemu-nbd needs an absolute pid file path, got ${o.pidFile}`);
  if (o.tls && !path.isAbsolute(o.tls.dir)) throw new Error(`qemu-nbd needs an absolute key folder, got ${o.tls.dir}`);
  return [
    "--format=qcow2",
    `--export-name=${o.exportName}`,
    `--bind=${o.bind}`,
    `--port=${o.port}`,
    `--shared=${o.shared}`,
    // --persistent (-t): keep serving after the last client disconnects; it is not a cache mode.
    "--persistent",
    `--pid-file=${o.pidFile}`,
    `--cache=${o.cache}`,
    "--discard=unmap",
    "--detect-zeroes=unmap",
    ...(o.readOnly ? ["--read-only"] : []),
    ...(o.tls
      ? [
          `--object=tls-creds-psk,id=${o.tls.credsId},endpoint=server,dir=${qemuOptValue(o.tls.dir)}`,
          `--tls-creds=${o.tls.credsId}`,
        ]
      : []),
    o.file,
  ];
}

/** The command as one line for the log: arguments with unusual characters are quoted. */
export function formatCommand(file: string, args: string[]): string {
  const quote = (a: string) => (/^[A-Za-z0-9_./=:,@+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return [file, ...args].map(quote).join(" ");
}

/** The pid file of one export: unique per start, so a stale file never looks like readiness. */
export function pidFileFor(runDir: string, port: number, id: string): string {
  return path.join(runDir, `qemu-nbd-${port}-${id}.pid`);
}

export type QemuNbdArgv = { pidFile?: string; port?: number; exportName?: string };

/** Read the options nbdhub cares about back from a process's argv; null when it is not qemu-nbd. */
export function parseQemuNbdArgv(argv: string[]): QemuNbdArgv | null {
  if (argv.length === 0 || path.basename(argv[0]) !== QEMU_NBD) return null;
  const found: QemuNbdArgv = {};
  for (let i = 1; i < argv.length; i += 1) {
    const arg = argv[i];
    const [name, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (name === "--pid-file") found.pidFile = value();
    else if (name === "--port" || name === "-p") found.port = Number(value());
    else if (name === "--export-name" || name === "-x") found.exportName = value();
  }
  return found;
}

/** True when `file` lies inside `dir` (both absolute). */
export function isInsideDir(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}
