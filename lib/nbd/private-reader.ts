// A private, read-only qemu-nbd on a Unix socket in the run directory: how an incremental reads
// a file source (with `-B BITMAP` for changed blocks) or a previous point through its backing
// chain (content diff). It holds no pool port and no nbd_exports row: it lives only as long
// as one disk's copy. The export manager starts and stops these (it owns every qemu-nbd this
// server runs) and ends them at shutdown; after a crash, the reconciler ends them as orphans,
// since their pid files lie under the run directory (docs/decisions/010-incrementals.md).
import "server-only";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { QEMU_NBD } from "./qemu-nbd-command";
import { spawnQemuNbd, terminate, within, type RunningProcess } from "./qemu-nbd-process";
import { waitForPidFile } from "./ready-wait";

export type PrivateReaderRequest = {
  /** An absolute path: the source file, or a backup target (read through its chain). */
  file: string;
  format: "raw" | "qcow2";
  /** Export this persistent dirty bitmap as `qemu:dirty-bitmap:NAME` (qcow2 only). */
  bitmap?: string;
};

export type PrivateReader = {
  /** `nbd+unix:///reader?socket=…` */
  uri: string;
  pid: number;
  /** SIGTERM (then SIGKILL); removes its socket and pid file. Safe to call more than once. */
  stop(): Promise<void>;
  /** Resolves when the process ended, however. */
  exited: Promise<unknown>;
};

export const READER_EXPORT = "reader";
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** Files of one reader: `reader-<id>.pid` and `reader-<id>.sock` (the reconciler knows the pattern). */
export const READER_FILE = /^reader-[0-9a-f]+\.(pid|sock)$/;

/** The bitmap names lib/backup makes (`nbdhub-<job>`) or a request names: plain characters only. */
const BITMAP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$/;

export function readerArgs(req: PrivateReaderRequest, socket: string, pidFile: string): string[] {
  if (!path.isAbsolute(req.file)) throw new Error(`a private reader needs an absolute image path, got ${req.file}`);
  if (req.bitmap !== undefined && (req.format !== "qcow2" || !BITMAP_NAME.test(req.bitmap))) {
    throw new Error(`a private reader cannot export bitmap ${JSON.stringify(req.bitmap)} of a ${req.format} file`);
  }
  return [
    `--format=${req.format}`,
    "--read-only",
    `--export-name=${READER_EXPORT}`,
    `--socket=${socket}`,
    `--pid-file=${pidFile}`,
    // A few connections: the copy, and the read-back that verifies it.
    "--shared=4",
    "--persistent",
    // The host's page cache bypassed, as the full's reader (mover.ts). Without Linux AIO: a file
    // source's data is read from the file itself (decision 034), and qemu-nbd with
    // --aio=native took 30-50 ms to exit on SIGTERM (the AIO context's teardown), every
    // incremental, at its end.
    "--cache=none",
    ...(req.bitmap ? [`--bitmap=${req.bitmap}`] : []),
    req.file,
  ];
}

/** Start a reader; resolves once qemu-nbd has opened the image (its pid file is written). */
export async function startPrivateReader(runDir: string, req: PrivateReaderRequest): Promise<PrivateReader> {
  const id = randomBytes(8).toString("hex");
  const socket = path.join(runDir, `reader-${id}.sock`);
  const pidFile = path.join(runDir, `reader-${id}.pid`);
  const removeFiles = () => Promise.all([fs.rm(socket, { force: true }), fs.rm(pidFile, { force: true })]);
  const spawned = await spawnQemuNbd(readerArgs(req, socket, pidFile));
  if (spawned.pid === null) throw new Error(`${QEMU_NBD} could not be started (${spawned.error})`);
  const proc: RunningProcess = spawned;
  const outcome = await waitForPidFile(proc, pidFile, READY_TIMEOUT_MS);
  if (outcome.kind !== "ready") {
    proc.signal("SIGKILL");
    await within(proc.exited, 5_000);
    await removeFiles();
    const said = proc.stderrTail().split("\n").pop();
    const how = outcome.kind === "timeout" ? `was not ready within ${READY_TIMEOUT_MS / 1000} s` : "exited";
    throw new Error(`the private reader (qemu-nbd -r) of ${req.file} ${how}${said ? `: ${said}` : ""}`);
  }
  let stopping: Promise<void> | undefined;
  return {
    uri: `nbd+unix:///${READER_EXPORT}?socket=${socket}`,
    pid: proc.pid,
    exited: proc.exited,
    stop() {
      stopping ??= (async () => {
        const { killed } = await terminate(proc, STOP_TIMEOUT_MS);
        if (killed) await within(proc.exited, 5_000);
        await removeFiles();
      })();
      return stopping;
    },
  };
}
