// One disk of a job, step by step: plan (and the job's bitmap on a qcow2 source) → target →
// port and export → copy (nbdcopy for a full, the in-process engine for an incremental) → stop
// the export → verify → completed. Throws with a reason a person can read; the job's finishing
// step (finish.ts) cleans up whatever was started.
import "server-only";
import { promises as fs } from "node:fs";
import { hasCode } from "@/lib/errors";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { BackupDisk as DiskRow, BackupJob as JobRow } from "@/lib/generated/prisma/client";
import { isProcessAlive } from "@/lib/proc/stat";
import { childrenOf } from "@/lib/proc/activity";
import type { ExportManagerApi, ExportTlsKey } from "@/lib/nbd/types";
import type { JobEvents } from "./events";
import { moverArgs, startMover, type MoverHandle } from "./mover";
import { dataBytesOf, sourceForCopy, type InspectedSource } from "./source";
import type { PreviousPoint } from "./copy-plan";
import { planDiskCopy, previousForDisk } from "./disk-plan";
import {
  engineCopy,
  startEngineSource,
  type EngineCopyResult,
  type EngineProgress,
  type EngineSource,
  type IncrementalPlan,
} from "./engine-copy";
import { checkTarget, compareWithSource, createTarget, sizeOnDisk } from "./target";
import { formatBytes, formatRate } from "@/lib/format";
import { messageOf } from "@/lib/messages";
import { bothSettled } from "@/lib/settled";
import { watchStalls } from "./stall-watch";
import { oncePerSecond, transferRate } from "./transfer-rate";

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
  await db.backupJob.update({
    where: { id: jobId },
    data: { transferredBytes: sums._sum.transferredBytes ?? BigInt(0), lastActivityAt: new Date() },
  });
}

/**
 * On the port the job reserved at admission; without one (or when it was lost: released through
 * the API, taken by another program with no other port free), wait for a free port until aborted.
 */
async function startExport(
  deps: DiskDeps,
  job: JobRow,
  disk: DiskRow,
  signal: AbortSignal,
  reserved?: number,
  tlsKey?: ExportTlsKey,
) {
  const req = {
    exportName: disk.exportName!,
    filePath: disk.targetPath!,
    jobId: job.id,
    vmName: job.vmName,
    diskId: disk.diskId,
    // The built-in movers write on this machine: their exports stay on loopback, without TLS
    // (docs/decisions/019-nbd-tls.md); an external client's may need TLS (NBDHUB_NBD_TLS).
    hubOnly: job.mover !== "external",
    tlsKey,
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
      if (attempt === 0)
        await deps.events.record(job.id, "disk.waiting", `disk ${disk.diskId} waits for a free port`, {
          diskId: disk.diskId,
        });
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
  tlsKey?: ExportTlsKey,
): Promise<{ port: number; uri: string; pid: number | null }> {
  // Always a new file: an incremental's target is a new overlay, its backing opened read-only.
  // The row says "exporting" meanwhile (both settle before a failure goes on).
  await bothSettled(
    updateDisk(deps, disk, { status: "exporting", startedAt: new Date() }),
    createTarget(disk.targetPath!, Number(disk.totalBytes), disk.backingPath ?? undefined),
  );
  throwIfAborted(signal);
  const exp = await startExport(deps, job, disk, signal, reservedPort, tlsKey);
  const exported = `disk ${disk.diskId} exported on port ${exp.port} as ${exp.uri}`;
  await bothSettled(
    updateDisk(deps, disk, { port: exp.port, nbdUri: exp.uri, pid: exp.pid }),
    deps.events.record(job.id, "disk.exported", exported, { diskId: disk.diskId }),
  );
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

/** What the in-process engine did for an incremental disk (engine-copy.ts), for its verification. */
export type EngineOutcome = EngineCopyResult & { previous: PreviousPoint };

/** The verification of an incremental the engine copied: what it read back, and what vouches for the rest. */
export function engineVerification(outcome: EngineOutcome, wholeChain: string | null): string {
  const written = `compared the ${formatBytes(outcome.verifiedBytes)} written with the source`;
  const { plan } = outcome;
  const rest =
    plan.mode === "changed-blocks"
      ? `the rest is unchanged since job ${plan.backingJobId} per bitmap ${plan.bitmap}`
      : `every other block was found equal to job ${plan.backingJobId}'s point when compared`;
  return `qemu-img check passed; ${written}; ${rest}${wholeChain ? `; ${wholeChain}` : ""}`;
}

/** Stop the export (it must exit cleanly, or the qcow2 may miss data), then verify. */
export async function finishDisk(
  deps: DiskDeps,
  job: JobRow,
  disk: DiskRow,
  port: number,
  source: InspectedSource | null,
  engine?: EngineOutcome,
): Promise<void> {
  const stopped = await deps.exports.stop(port);
  // Already gone: it crashed, or someone stopped it, before the writer was done.
  const incomplete = "the target may be incomplete";
  const gone = `the export on port ${port} had already ended (crashed or stopped) before the copy was done`;
  if (!stopped) throw new Error(`${gone}; ${incomplete}`);
  if (!stopped.clean) throw new Error(`the export's qemu-nbd did not exit cleanly on port ${port}; ${incomplete}`);
  // A full copy of a file is compared whole; an incremental's written extents were read back
  // already, and the whole chain is compared only when the operator asks (NBDHUB_VERIFY=full).
  const compareWhole = source?.kind === "file" && (!engine || deps.config.verify === "full");
  // The row says "verifying" while the checks run: both only read the target, side by side. Both
  // settle before a failure goes on, so the failure's own write is never overtaken by this one.
  await bothSettled(
    updateDisk(deps, disk, { status: "verifying", pid: null, bytesPerSecond: 0, etaSeconds: null, stalledSince: null }),
    Promise.all([
      checkTarget(disk.targetPath!),
      compareWhole ? compareWithSource(source.path, source.format, disk.targetPath!) : undefined,
    ]),
  );
  // The row as it is now (`disk` was read before this disk started), and the file's size.
  const [actualSize, fresh] = await Promise.all([
    sizeOnDisk(disk.targetPath!),
    deps.db.backupDisk.findUniqueOrThrow({ where: { jobId_diskId: { jobId: disk.jobId, diskId: disk.diskId } } }),
  ]);
  const finishedAt = new Date();
  const seconds = fresh.startedAt ? (finishedAt.getTime() - fresh.startedAt.getTime()) / 1000 : 0;
  const transferred = engine ? engine.writtenBytes : Number(fresh.transferredBytes) || Number(disk.totalBytes);
  const chain = "qemu-img compare found the whole chain identical to the source";
  const { verified, verification } = engine
    ? { verified: true, verification: engineVerification(engine, compareWhole ? chain : null) }
    : verificationOf(source, fresh);
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

type CopyStep = {
  deps: DiskDeps;
  job: JobRow;
  disk: DiskRow;
  source: InspectedSource;
  destination: string;
  signal: AbortSignal;
  state: RunningDisk;
  port: number;
  pid: number | null;
};

/** The export's own end, when it is why the copy failed (the copy's error is only its echo). */
async function exportFailure(step: CopyStep): Promise<string | undefined> {
  const { deps, job, disk, port, pid, state } = step;
  // The two exits race, so also look at the export's process itself.
  if (state.failure || !pid || (await isProcessAlive(pid))) return state.failure;
  // Stopped on purpose (an operator's Stop on the Exports page) or died on its own?
  const row = await deps.db.nbdExport.findFirst({
    where: { jobId: job.id, diskId: disk.diskId, port },
    orderBy: { startedAt: "desc" },
    select: { status: true },
  });
  // "ready" with a dead process is a crash the export manager has not recorded yet.
  state.failure =
    row?.status === "stopping" || row?.status === "stopped"
      ? `the export on port ${port} was stopped while the copy was running`
      : `the export's qemu-nbd on port ${port} crashed during the copy`;
  return state.failure;
}

/** A full copy with nbdcopy (the benchmark found it faster than our client's copy()). */
async function copyWithNbdcopy(step: CopyStep): Promise<void> {
  const { deps, job, disk, source, destination, signal, state } = step;
  const total = Number(disk.totalBytes);
  const started = Date.now();
  await deps.events.record(
    job.id,
    "disk.transferring",
    `disk ${disk.diskId}: copying ${formatBytes(total)} from ${disk.source} (mover: nbdcopy)`,
    { diskId: disk.diskId },
  );

  // Progress: nbdcopy's own percentage, and between its coarse reports the target's growth
  // measured against the data the source really holds.
  // Measured beside the copy, not before it: it only refines progress (bench: 90-160 ms a disk).
  let dataBytes: number | null = null;
  void dataBytesOf(source).then(
    (bytes) => (dataBytes = bytes),
    () => undefined,
  );
  const baseBlocks = (await fs.stat(disk.targetPath!)).blocks;
  let reported = 0;
  const due = oncePerSecond();
  let writing: Promise<void> = Promise.resolve();
  const publish = (force: boolean) => {
    const now = Date.now();
    if (!due(now, force)) return;
    const transferred = Math.min(total, reported);
    const rate = transferRate(transferred, total, started, now);
    writing = writing
      .then(() => updateDisk(deps, disk, { transferredBytes: BigInt(transferred), ...rate }))
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
  const args = moverArgs(source, destination, { destinationIsZero: !disk.backingPath });
  const mover = await startMover(args, deps.config.runDir, onPercent);
  state.mover = mover;
  const onAbort = () => mover.kill();
  signal.addEventListener("abort", onAbort, { once: true });
  const stalls = watchMover(
    deps,
    job,
    disk,
    mover,
    step.pid,
    () => reported,
    (write) => (writing = writing.then(write)),
    state,
  );
  try {
    await mover.done;
  } catch (error) {
    throw new Error((await exportFailure(step)) ?? messageOf(error));
  } finally {
    clearInterval(sampler);
    stalls.stop();
    signal.removeEventListener("abort", onAbort);
    await writing;
  }
  throwIfAborted(signal);
  await updateDisk(deps, disk, { transferredBytes: BigInt(total), etaSeconds: 0 });
  await refreshJobTotals(deps.db, job.id);
}

/** The engine fell back to a content diff (a bitmap qemu-nbd refused or the source does not offer). */
async function recordFallback(deps: DiskDeps, job: JobRow, disk: DiskRow, fallback: IncrementalPlan): Promise<void> {
  const data = { copyMode: fallback.mode, copyReason: fallback.reason };
  await deps.db.backupDisk.update({ where: { jobId_diskId: { jobId: job.id, diskId: disk.diskId } }, data });
  await deps.events.record(job.id, "disk.plan", `disk ${disk.diskId}: ${fallback.reason}`, {
    diskId: disk.diskId,
    level: "warn",
  });
}

/** An incremental with the in-process engine: only the changed blocks, or a content diff. */
async function copyWithEngine(step: CopyStep, engineSource: EngineSource): Promise<EngineOutcome> {
  const { deps, job, disk, destination, signal } = step;
  const { plan, previous } = engineSource;
  const what = plan.mode === "changed-blocks" ? "the changed blocks" : "the blocks that differ (content diff)";
  await deps.events.record(
    job.id,
    "disk.transferring",
    `disk ${disk.diskId}: copying ${what} of ${disk.source} onto job ${previous.jobId}'s point ` +
      "(mover: nbdhub's NBD client)",
    { diskId: disk.diskId },
  );
  const started = Date.now();
  const due = oncePerSecond();
  let writing: Promise<void> = Promise.resolve();
  const onProgress = (p: EngineProgress) => {
    const now = Date.now();
    if (!due(now, p.done >= p.total)) return;
    const data = {
      transferredBytes: BigInt(p.written),
      progressDoneBytes: BigInt(p.done),
      progressTotalBytes: BigInt(p.total),
      changedBytes: p.changed === null ? null : BigInt(p.changed),
      ...transferRate(p.done, p.total, started, now),
    };
    writing = writing
      .then(() => updateDisk(deps, disk, data))
      .then(() => refreshJobTotals(deps.db, job.id))
      .catch(() => undefined);
  };
  // The engine runs in this process: the stall rule watches its progress and the export's
  // qemu-nbd (a stopped or hung one stalls it), and ends the copy through its own signal.
  let moved = 0;
  const engineStop = new AbortController();
  const stopEngine = () => engineStop.abort(signal.reason);
  signal.addEventListener("abort", stopEngine, { once: true });
  const { stallSeconds, stallFailSeconds } = deps.config;
  const stalls = watchStalls({
    progress: () => moved,
    processes: async () => (step.pid ? [step.pid] : []),
    stallSeconds,
    failSeconds: stallFailSeconds,
    onStallChange: (since) => (writing = writing.then(() => recordStall(deps, job, disk, since))),
    onFail: (seconds) => {
      step.state.failure ??= `disk ${disk.diskId}: no progress for ${seconds} s (nbdhub's NBD client)`;
      engineStop.abort(new Error(step.state.failure));
    },
  });
  let result: EngineCopyResult;
  try {
    const input = {
      exports: deps.exports,
      engineSource,
      destinationUri: destination,
      destinationPath: disk.targetPath!,
    };
    const progress = (p: EngineProgress) => {
      moved = p.done + p.written;
      onProgress(p);
    };
    result = await engineCopy({
      ...input,
      signal: engineStop.signal,
      onProgress: progress,
      onFallback: (p) => recordFallback(deps, job, disk, p),
      onCopied: () =>
        (writing = writing.then(() => updateDisk(deps, disk, { status: "verifying" })).catch(() => undefined)),
    });
  } catch (error) {
    throwIfAborted(signal);
    throw new Error((await exportFailure(step)) ?? messageOf(error));
  } finally {
    stalls.stop();
    signal.removeEventListener("abort", stopEngine);
    await writing;
  }
  throwIfAborted(signal);
  await updateDisk(deps, disk, {
    transferredBytes: BigInt(result.writtenBytes),
    changedBytes: BigInt(result.changedBytes),
    progressDoneBytes: null,
    progressTotalBytes: null,
    etaSeconds: 0,
  });
  await refreshJobTotals(deps.db, job.id);
  return { ...result, previous };
}

/**
 * The built-in mover's whole pipeline for one disk. Two strands run side by side, since
 * neither reads the source: the bitmap work and the plan, then (an incremental) the source's
 * private reader; and the target's creation, then its export. The copy starts once both are
 * done; when one fails, the other is waited for, and the job's ending cleans up what it started.
 */
export async function runDisk(
  deps: DiskDeps,
  job: JobRow,
  row: DiskRow,
  signal: AbortSignal,
  state: RunningDisk,
  reservedPort?: number,
): Promise<void> {
  throwIfAborted(signal);
  const source = await sourceOf(deps.config, row);
  const previous = await previousForDisk(deps, job, row);
  // The target is an overlay on the previous point as found now, whatever the plan says.
  const base = { ...row, backingPath: previous?.targetPath ?? null };
  const sourcing = planDiskCopy(deps, job, base, source, previous).then(async (planned) => {
    const { plan } = planned;
    if (plan.mode === "full" || !planned.previous) return { planned, engineSource: null };
    throwIfAborted(signal);
    const input = { exports: deps.exports, source, plan, previous: planned.previous };
    const onFallback = (p: IncrementalPlan) => recordFallback(deps, job, planned.disk, p);
    return { planned, engineSource: await startEngineSource({ ...input, onFallback }) };
  });
  const preparing = (async () => {
    throwIfAborted(signal);
    const prepared = await prepareDisk(deps, job, base, signal, reservedPort);
    state.port = prepared.port;
    return prepared;
  })();
  let sourced: Awaited<typeof sourcing>;
  let prepared: Awaited<typeof preparing>;
  try {
    [sourced, prepared] = await bothSettled(sourcing, preparing);
  } catch (error) {
    await sourcing.then(
      (s) => s.engineSource?.stop(),
      () => undefined,
    );
    throw error;
  }
  const { planned, engineSource } = sourced;
  const { disk } = planned;
  const { port, pid } = prepared;
  try {
    throwIfAborted(signal);
    // The built-in job's export is hub-only: its URI names 127.0.0.1, without TLS.
    const destination = prepared.uri;
    await updateDisk(deps, disk, { status: "transferring" });
    const step: CopyStep = { deps, job, disk, source, destination, signal, state, port, pid };
    if (!engineSource) {
      await copyWithNbdcopy(step);
      await finishDisk(deps, job, disk, port, source);
    } else {
      const outcome = await copyWithEngine(step, engineSource);
      await finishDisk(deps, job, disk, port, source, outcome);
    }
  } finally {
    await engineSource?.stop();
  }
}

/**
 * The stall rule for a built-in copy (stall-watch.ts): progress is the disk's transferred bytes
 * and the activity (I/O counters, CPU time) of nbdcopy, of the helper it started (a qcow2 source's private qemu-nbd)
 * and of the export's qemu-nbd. Stalled: the disk shows since when; after the fail time the
 * mover is killed and the copy fails with the reason (retried like any failed copy).
 */
function watchMover(
  deps: DiskDeps,
  job: JobRow,
  disk: DiskRow,
  mover: MoverHandle,
  exportPid: number | null,
  transferred: () => number,
  queue: (write: () => Promise<void>) => void,
  state: RunningDisk,
) {
  const { stallSeconds, stallFailSeconds } = deps.config;
  const moverPid = mover.pid;
  const diskId = disk.diskId;
  return watchStalls({
    progress: transferred,
    processes: async () => {
      const own = moverPid === undefined ? [] : [moverPid, ...(await childrenOf(moverPid))];
      return exportPid ? [...own, exportPid] : own;
    },
    stallSeconds,
    failSeconds: stallFailSeconds,
    onStallChange: (since) => queue(() => recordStall(deps, job, disk, since)),
    onFail: (seconds) => {
      state.failure ??= `disk ${diskId}: no progress for ${seconds} s (mover pid ${moverPid ?? "unknown"})`;
      mover.kill();
    },
  });
}

/** A copy stalled (since when its progress last moved) or moves again (null): on the disk and in the log. */
async function recordStall(deps: DiskDeps, job: JobRow, disk: DiskRow, since: Date | null): Promise<void> {
  await updateDisk(deps, disk, { stalledSince: since }).catch(() => undefined);
  const message = since
    ? `disk ${disk.diskId}: no progress since ${since.toISOString()} (stalled; fails after ${deps.config.stallFailSeconds} s)`
    : `disk ${disk.diskId}: moving again`;
  await deps.events.record(job.id, since ? "disk.stalled" : "disk.resumed", message, {
    diskId: disk.diskId,
    level: since ? "warn" : "info",
  });
}
