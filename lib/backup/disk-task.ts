// One disk of a job, step by step: target → port and export → copy (built-in mover) → stop the
// export → verify → completed. Throws with a reason a person can read; the job's finishing
// step (finish.ts) cleans up whatever was started.
import "server-only";
import { promises as fs } from "node:fs";
import { hasCode } from "@/lib/errors";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { BackupDisk as DiskRow, BackupJob as JobRow } from "@/lib/generated/prisma/client";
import { isProcessAlive } from "@/lib/nbd/proc";
import type { ExportManagerApi } from "@/lib/nbd/types";
import type { JobEvents } from "./events";
import { moverArgs, startMover, type MoverHandle } from "./mover";
import { dataBytesOf, sourceForCopy, type InspectedSource } from "./source";
import { checkTarget, compareWithSource, createTarget, sizeOnDisk } from "./target";
import { formatBytes, formatRate } from "@/lib/format";
import { messageOf } from "@/lib/messages";

export type DiskDeps = { db: Db; config: Config; exports: ExportManagerApi; events: JobEvents };

export class Aborted extends Error {
  constructor() {
    super("aborted");
    this.name = "Aborted";
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Aborted();
}

async function updateDisk(deps: DiskDeps, disk: DiskRow, data: Partial<DiskRow>): Promise<void> {
  await deps.db.backupDisk.update({ where: { jobId_diskId: { jobId: disk.jobId, diskId: disk.diskId } }, data });
  deps.events.changed(disk.jobId);
}

/** The job's transferred bytes: the sum of its disks', so the job's bar moves with them. */
async function refreshJobTotals(db: Db, jobId: string): Promise<void> {
  const sums = await db.backupDisk.aggregate({ where: { jobId }, _sum: { transferredBytes: true } });
  await db.backupJob.update({ where: { id: jobId }, data: { transferredBytes: sums._sum.transferredBytes ?? BigInt(0), lastActivityAt: new Date() } });
}

/**
 * On the port the job reserved at admission; without one (or when it was lost: released through
 * the API, taken by another program with no other port free), wait for a free port until aborted.
 */
async function startExport(deps: DiskDeps, job: JobRow, disk: DiskRow, signal: AbortSignal, reserved?: number) {
  const req = {
    exportName: disk.exportName!,
    filePath: disk.targetPath!,
    jobId: job.id,
    vmName: job.vmName,
    diskId: disk.diskId,
  };
  if (reserved !== undefined) {
    throwIfAborted(signal);
    try {
      return await deps.exports.startOnReservedPort({ ...req, port: reserved });
    } catch (error) {
      if (!hasCode(error, "port_pool_exhausted") && !hasCode(error, "port_in_use")) throw error;
    }
  }
  for (let attempt = 0; ; attempt += 1) {
    throwIfAborted(signal);
    try {
      return await deps.exports.startOnFreePort(req);
    } catch (error) {
      if (!hasCode(error, "port_pool_exhausted")) throw error;
      if (attempt === 0) await deps.events.record(job.id, "disk.waiting", `disk ${disk.diskId} waits for a free port`, { diskId: disk.diskId });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Create the target and start its export; shared by the built-in and external movers. */
export async function prepareDisk(
  deps: DiskDeps,
  job: JobRow,
  disk: DiskRow,
  signal: AbortSignal,
  reservedPort?: number,
): Promise<{ port: number; uri: string; pid: number | null }> {
  await updateDisk(deps, disk, { status: "exporting", startedAt: new Date() });
  // Always a new file: an incremental's target is a new overlay, its backing opened read-only.
  await createTarget(disk.targetPath!, Number(disk.totalBytes), disk.backingPath ?? undefined);
  throwIfAborted(signal);
  const exp = await startExport(deps, job, disk, signal, reservedPort);
  await updateDisk(deps, disk, { port: exp.port, nbdUri: exp.uri, pid: exp.pid });
  await deps.events.record(job.id, "disk.exported", `disk ${disk.diskId} exported on port ${exp.port} as ${exp.uri}`, { diskId: disk.diskId });
  return { port: exp.port, uri: exp.uri, pid: exp.pid };
}

/** What the verification of a disk proved: a compare with the source, or only a consistency check. */
export function verificationOf(
  source: InspectedSource | null,
  disk: Pick<DiskRow, "source" | "backingPath" | "totalBytes">,
): { verified: boolean; verification: string } {
  if (source?.kind === "file") {
    const chain = disk.backingPath ? " (read through its backing chain)" : "";
    const compared = `qemu-img compare found the target${chain} identical to the source ${disk.source}`;
    const verification = `qemu-img check passed and ${compared}`;
    return { verified: true, verification };
  }
  if (source?.kind === "nbd") {
    const why = "reading it a second time would double the transfer";
    const notCompared = `the target was not compared with the NBD source ${disk.source} (${why})`;
    return { verified: false, verification: `qemu-img check passed; ${notCompared}` };
  }
  const reported = `the backup client reported all ${Number(disk.totalBytes)} bytes written`;
  const cannot = "the hub cannot read the client's source to compare";
  return { verified: false, verification: `qemu-img check passed; ${reported}; ${cannot}` };
}

/** Stop the export (it must exit cleanly, or the qcow2 may miss data), then verify. */
export async function finishDisk(deps: DiskDeps, job: JobRow, disk: DiskRow, port: number, source: InspectedSource | null): Promise<void> {
  const stopped = await deps.exports.stop(port);
  // Already gone: it crashed, or someone stopped it, before the writer was done.
  const incomplete = "the target may be incomplete";
  const gone = `the export on port ${port} had already ended (crashed or stopped) before the copy was done`;
  if (!stopped) throw new Error(`${gone}; ${incomplete}`);
  if (!stopped.clean) throw new Error(`the export's qemu-nbd did not exit cleanly on port ${port}; ${incomplete}`);
  await updateDisk(deps, disk, { status: "verifying", pid: null, bytesPerSecond: 0, etaSeconds: null });
  // Both only read the target: run them side by side.
  await Promise.all([checkTarget(disk.targetPath!), source?.kind === "file" ? compareWithSource(source.path, source.format, disk.targetPath!) : undefined]);
  const actualSize = await sizeOnDisk(disk.targetPath!);
  const finishedAt = new Date();
  // The row as it is now: `disk` was read before this disk started.
  const fresh = await deps.db.backupDisk.findUniqueOrThrow({ where: { jobId_diskId: { jobId: disk.jobId, diskId: disk.diskId } } });
  const seconds = fresh.startedAt ? (finishedAt.getTime() - fresh.startedAt.getTime()) / 1000 : 0;
  const transferred = Number(fresh.transferredBytes) || Number(disk.totalBytes);
  const { verified, verification } = verificationOf(source, fresh);
  await updateDisk(deps, disk, {
    status: "completed",
    finishedAt,
    actualSize: BigInt(actualSize),
    transferredBytes: BigInt(transferred),
    bytesPerSecond: seconds > 0 ? transferred / seconds : 0,
    etaSeconds: 0,
    verified,
    verification,
  });
  const rate = formatRate(seconds > 0 ? transferred / seconds : 0);
  await deps.events.record(
    job.id,
    "disk.completed",
    `disk ${disk.diskId} completed (${verified ? "verified" : "not verified"}): ${verification}; ` +
      `${formatBytes(actualSize)} on disk, ${seconds.toFixed(1)} s, ${rate}`,
    { diskId: disk.diskId },
  );
}

/** Rebuild the inspected source from the row, checked again (source.ts, sourceForCopy). */
async function sourceOf(config: Config, disk: DiskRow): Promise<InspectedSource> {
  return sourceForCopy(config, disk.source, disk.sourceFormat === "qcow2" ? "qcow2" : "raw", Number(disk.totalBytes));
}

export type RunningDisk = { mover?: MoverHandle; port?: number; failure?: string };

/** The built-in mover's whole pipeline for one disk. */
export async function runDisk(
  deps: DiskDeps,
  job: JobRow,
  disk: DiskRow,
  signal: AbortSignal,
  state: RunningDisk,
  reservedPort?: number,
): Promise<void> {
  throwIfAborted(signal);
  const source = await sourceOf(deps.config, disk);
  const { port, pid } = await prepareDisk(deps, job, disk, signal, reservedPort);
  state.port = port;
  throwIfAborted(signal);

  const total = Number(disk.totalBytes);
  const host = deps.config.nbdBind === "0.0.0.0" ? "127.0.0.1" : deps.config.nbdBind;
  const destination = `nbd://${host}:${port}/${encodeURIComponent(disk.exportName!)}`;
  const started = Date.now();
  await updateDisk(deps, disk, { status: "transferring" });
  await deps.events.record(job.id, "disk.transferring", `disk ${disk.diskId}: copying ${formatBytes(total)} from ${disk.source}`, { diskId: disk.diskId });

  // Progress: nbdcopy's own percentage, and between its coarse reports the target's growth
  // measured against the data the source really holds.
  // Measured beside the copy, not before it: it only refines progress (bench: 90-160 ms a disk).
  let dataBytes: number | null = null;
  void dataBytesOf(source).then((bytes) => (dataBytes = bytes), () => undefined);
  const baseBlocks = (await fs.stat(disk.targetPath!)).blocks;
  let reported = 0;
  let lastWrite = 0;
  let writing: Promise<void> = Promise.resolve();
  const publish = (force: boolean) => {
    const now = Date.now();
    // At most about once a second to the database (and the event streams), plus the end.
    if (!force && now - lastWrite < 1000) return;
    lastWrite = now;
    const transferred = Math.min(total, reported);
    const seconds = (now - started) / 1000;
    const rate = seconds > 0 ? transferred / seconds : 0;
    const eta = rate > 0 ? Math.round((total - transferred) / rate) : null;
    writing = writing
      .then(() => updateDisk(deps, disk, { transferredBytes: BigInt(transferred), bytesPerSecond: rate, etaSeconds: eta }))
      .then(() => refreshJobTotals(deps.db, job.id))
      .catch(() => undefined);
  };
  const onPercent = (percent: number) => {
    reported = Math.max(reported, Math.round((total * percent) / 100));
    publish(percent === 100);
  };
  const sampler = setInterval(() => {
    const expected = dataBytes;
    if (!expected) return;
    fs.stat(disk.targetPath!)
      .then((st) => {
        const written = Math.max(0, (st.blocks - baseBlocks) * 512);
        // Never claim the end from an estimate: only nbdcopy says 100 %.
        reported = Math.max(reported, Math.round(total * Math.min(0.99, written / expected)));
        publish(false);
      })
      .catch(() => undefined);
  }, 1000);
  const mover = startMover(moverArgs(source, destination, { destinationIsZero: !disk.backingPath }), deps.config.runDir, onPercent);
  state.mover = mover;
  const onAbort = () => mover.kill();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await mover.done;
  } catch (error) {
    // A crash of the export is the cause when it happened; the mover's error is only its echo.
    // The two exits race, so also look at the export's process itself.
    if (!state.failure && pid && !(await isProcessAlive(pid))) {
      // Stopped on purpose (an operator's Stop on the Exports page) or died on its own?
      const row = await deps.db.nbdExport.findFirst({ where: { jobId: job.id, diskId: disk.diskId, port }, orderBy: { startedAt: "desc" }, select: { status: true } });
      // "ready" with a dead process is a crash the export manager has not recorded yet.
      state.failure =
        row?.status === "stopping" || row?.status === "stopped"
          ? `the export on port ${port} was stopped while the copy was running`
          : `the export's qemu-nbd on port ${port} crashed during the copy`;
    }
    throw new Error(state.failure ?? messageOf(error));
  } finally {
    clearInterval(sampler);
    signal.removeEventListener("abort", onAbort);
    await writing;
  }
  throwIfAborted(signal);
  await updateDisk(deps, disk, { transferredBytes: BigInt(total), etaSeconds: 0 });
  await refreshJobTotals(deps.db, job.id);
  await finishDisk(deps, job, disk, port, source);
}
