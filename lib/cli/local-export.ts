// Local disk files reach the NBD client through a private qemu-nbd on a Unix socket in a 0700
// folder of our own: a qcow2 source is read as the guest sees it (never the file's bytes), a
// raw one with its allocation map, and a restore writes into a new raw file the same way. The
// format is always named (`--format`), so qemu never probes a file.
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";

export const LOCAL_EXPORT = "disk";
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export type LocalExport = { uri: string; pid: number; stop(): Promise<void> };

const running = new Set<ChildProcess>();
let folder: Promise<string> | undefined;

/** Kill every qemu-nbd still running, at once (the process is exiting: no time to wait). */
export function killLocalExports(): void {
  for (const child of running) child.kill("SIGKILL");
}

export type LocalExportRequest = {
  file: string;
  format: "raw" | "qcow2";
  readOnly: boolean;
  /** Export this persistent dirty bitmap of a qcow2 file as qemu:dirty-bitmap:NAME. */
  bitmap?: string;
};

/** qemu-nbd's arguments: the format named, the file absolute (never read as an option). */
export function localExportArgs(req: LocalExportRequest, socket: string, pidFile: string): string[] {
  return [
    `--format=${req.format}`,
    ...(req.readOnly ? ["--read-only"] : ["--discard=unmap", "--detect-zeroes=unmap"]),
    `--export-name=${LOCAL_EXPORT}`,
    `--socket=${socket}`,
    `--pid-file=${pidFile}`,
    "--shared=8",
    "--persistent",
    `--cache=${req.readOnly ? "none" : "writeback"}`,
    ...(req.bitmap ? [`--bitmap=${req.bitmap}`] : []),
    path.resolve(req.file),
  ];
}

async function privateFolder(): Promise<string> {
  folder ??= fs.mkdtemp(path.join(os.tmpdir(), "nbdhub-client-"));
  return folder;
}

/** Remove the private folder (after every export stopped). */
export async function removeLocalFolder(): Promise<void> {
  if (!folder) return;
  const dir = await folder.catch(() => undefined);
  folder = undefined;
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited(child);
    clearTimeout(timer);
  }
  running.delete(child);
}

/** Start qemu-nbd on `req.file`; resolves once its pid file says the image is open. */
export async function startLocalExport(req: LocalExportRequest): Promise<LocalExport> {
  const dir = await privateFolder();
  const id = `${process.pid}-${running.size}-${Date.now().toString(36)}`;
  const socket = path.join(dir, `${id}.sock`);
  const pidFile = path.join(dir, `${id}.pid`);
  // A minimal environment: nothing of ours (NBDHUB_TOKEN above all) reaches the child.
  const child = spawn("qemu-nbd", localExportArgs(req, socket, pidFile), {
    stdio: ["ignore", "ignore", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" } as Partial<NodeJS.ProcessEnv> as NodeJS.ProcessEnv,
  });
  running.add(child);
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  const stop = () =>
    stopChild(child).finally(() => Promise.all([fs.rm(socket, { force: true }), fs.rm(pidFile, { force: true })]));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const failed = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(r, 20, undefined))]);
    if (failed) {
      await stop();
      throw new Error(`cannot start qemu-nbd (is qemu-utils installed?): ${failed.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      const said = stderr.trim().split("\n").pop();
      throw new Error(`qemu-nbd could not open ${req.file}${said ? `: ${said}` : ""}`);
    }
    const text = await fs.readFile(pidFile, "utf8").catch(() => "");
    if (text.trim() === String(child.pid)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`qemu-nbd did not open ${req.file} within ${READY_TIMEOUT_MS / 1000} s`);
    }
  }
  return { uri: `nbd+unix:///${LOCAL_EXPORT}?socket=${socket}`, pid: child.pid!, stop };
}
