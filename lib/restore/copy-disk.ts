// Copy mode, one disk: nbdcopy reads the point through the restore's read-only export (the
// export manager's qemu-nbd on a pool port) and writes the destination: a new raw file, a new
// qcow2 (served to nbdcopy by a private qemu-nbd, as the backup mover does for a qcow2 source),
// or an NBD export. Progress lands on the disk row about once a second (transferredBytes, rate,
// ETA, and progressAt when the bytes moved: the seam for stall rules). Then the result is
// compared with the point (qemu-img compare, a read-back for an NBD destination) before the disk
// may say completed. The copy follows the stall rule of a backup disk (lib/backup/stall-watch.ts):
// no progress for the stall time shows `stalledSince`, for the fail time kills the mover and fails
// the disk "no progress for N s (mover pid P)".
import "server-only";
import { promises as fs } from "node:fs";
import { startMover, type MoverHandle } from "@/lib/backup/mover";
import { createTarget } from "@/lib/backup/target";
import type { Db } from "@/lib/db/prisma";
import { PRIVATE_FILE_MODE } from "@/lib/fs/private-modes";
import { runChild } from "@/lib/proc/child";
import type { CheckedDestination } from "./destination";
import { lastLine } from "@/lib/proc/last-line";
import { oncePerSecond, transferRate } from "@/lib/backup/transfer-rate";
import { watchStalls } from "@/lib/backup/stall-watch";
import { childrenOf } from "@/lib/proc/activity";

export type CopyDeps = {
  db: Db;
  runDir: string;
  changed(): void;
  /** The stall rule's times (NBDHUB_STALL_SECONDS, NBDHUB_STALL_FAIL_SECONDS). */
  stallSeconds: number;
  stallFailSeconds: number;
  /** A stall seen or cleared (for the log). */
  onStall?(since: Date | null): void;
};
export type CopyTask = {
  restoreId: string;
  diskId: string;
  pointPath: string;
  sizeBytes: number;
  /** The restore's export of the point, as nbdcopy on this host reaches it. */
  sourceUri: string;
  /** The qemu-nbd serving the point: part of the copy's pipeline (a stopped export stalls it). */
  exportPid: number | null;
  destination: CheckedDestination;
};

/** The new file of a file destination, created exclusively (never over someone's file). */
export async function createOutput(destination: CheckedDestination, sizeBytes: number): Promise<void> {
  if (destination.kind !== "file") return;
  if (destination.format === "qcow2") return createTarget(destination.path, sizeBytes);
  await fs.writeFile(destination.path, "", { mode: PRIVATE_FILE_MODE, flag: "wx" });
  await fs.truncate(destination.path, sizeBytes);
}

export function copyArgs(task: Pick<CopyTask, "sourceUri" | "destination">): string[] {
  const { destination } = task;
  const args = ["--flush", "--progress=3"];
  if (destination.kind === "nbd") return [...args, task.sourceUri, destination.uri];
  // A fresh file reads as zeros: nbdcopy skips the point's zero areas instead of writing them.
  args.push("--destination-is-zero");
  if (destination.format === "raw") return [...args, task.sourceUri, destination.path];
  const helper = ["qemu-nbd", "--format=qcow2", "--cache=none", "--discard=unmap", destination.path];
  return [...args, "--", task.sourceUri, "[", ...helper, "]"];
}

/** `qemu-img compare` of the point (through its chain) and what was written. */
export async function compareWithPoint(pointPath: string, destination: CheckedDestination): Promise<void> {
  const target = destination.kind === "nbd" ? destination.uri : destination.path;
  const format = destination.kind === "nbd" ? "raw" : destination.format;
  const args = ["compare", "-q", "--force-share", "-f", "qcow2", "-F", format, pointPath, target];
  const result = await runChild("qemu-img", args, { reject: false });
  if (result.exitCode === 1) throw new Error("verification failed: the copy differs from the restore point");
  if (result.exitCode !== 0) {
    throw new Error(`verification failed: qemu-img compare: ${lastLine(result.stderr) || `exit ${result.exitCode}`}`);
  }
}

/** Runs the copy; resolves once it is written and verified. An abort kills nbdcopy. */
export async function copyDisk(deps: CopyDeps, task: CopyTask, signal: AbortSignal): Promise<void> {
  const key = { restoreId_diskId: { restoreId: task.restoreId, diskId: task.diskId } };
  const total = task.sizeBytes;
  const started = Date.now();
  let reported = 0;
  const due = oncePerSecond();
  let lastBytes = -1;
  let writing: Promise<unknown> = Promise.resolve();
  const publish = (force: boolean) => {
    const now = Date.now();
    if (!due(now, force)) return;
    const transferred = Math.min(total, reported);
    const moved = transferred !== lastBytes;
    lastBytes = transferred;
    const data = {
      transferredBytes: BigInt(transferred),
      ...transferRate(transferred, total, started, now),
      ...(moved ? { progressAt: new Date(now) } : {}),
    };
    writing = writing
      .then(() => deps.db.restoreDisk.update({ where: key, data }))
      .then(() => deps.changed())
      .catch(() => undefined);
  };
  await deps.db.restoreDisk.update({ where: key, data: { status: "transferring", progressAt: new Date(started) } });
  deps.changed();
  if (signal.aborted) throw new Error("aborted");
  const mover: MoverHandle = await startMover(copyArgs(task), deps.runDir, (percent) => {
    reported = Math.max(reported, Math.round((total * percent) / 100));
    publish(percent === 100);
  });
  const onAbort = () => mover.kill();
  signal.addEventListener("abort", onAbort, { once: true });
  await deps.db.restoreDisk.update({ where: key, data: { pid: mover.pid ?? null } }).catch(() => undefined);
  let stalledOut: string | undefined;
  const moverPid = mover.pid;
  const stalls = watchStalls({
    progress: () => reported,
    processes: async () => {
      const own = moverPid === undefined ? [] : [moverPid, ...(await childrenOf(moverPid))];
      return task.exportPid ? [...own, task.exportPid] : own;
    },
    stallSeconds: deps.stallSeconds,
    failSeconds: deps.stallFailSeconds,
    onStallChange: (since) => {
      deps.onStall?.(since);
      writing = writing
        .then(() => deps.db.restoreDisk.update({ where: key, data: { stalledSince: since } }))
        .then(() => deps.changed())
        .catch(() => undefined);
    },
    onFail: (seconds) => {
      stalledOut = `no progress for ${seconds} s (mover pid ${moverPid ?? "unknown"})`;
      mover.kill();
    },
  });
  try {
    await mover.done;
  } catch (error) {
    // The mover killed by the stall rule says so, not "killed by SIGTERM".
    throw stalledOut ? new Error(stalledOut) : error;
  } finally {
    stalls.stop();
    signal.removeEventListener("abort", onAbort);
    await writing;
  }
  if (signal.aborted) throw new Error("aborted");
  if (stalledOut) throw new Error(stalledOut);
  const finished = {
    transferredBytes: BigInt(total),
    etaSeconds: 0,
    pid: null,
    progressAt: new Date(),
    stalledSince: null,
  };
  await deps.db.restoreDisk.update({ where: key, data: { ...finished, status: "verifying" } });
  deps.changed();
  await compareWithPoint(task.pointPath, task.destination);
  const seconds = (Date.now() - started) / 1000;
  await deps.db.restoreDisk.update({
    where: key,
    data: { status: "completed", finishedAt: new Date(), bytesPerSecond: seconds > 0 ? total / seconds : 0 },
  });
  deps.changed();
}
