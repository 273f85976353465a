// `nbdhub-client backup`: an external job on the hub, each disk written into its export with
// our NBD client's copy(), progress reported once a second, then complete (the hub checks the
// targets) or fail with the reason. Ctrl-C or SIGTERM cancels the job on the hub (exit 130).
import { copy, dirtyRanges, openPool, type NbdPool, type Range } from "@/lib/nbd/client";
import { messageOf } from "@/lib/messages";
import { formatBytes } from "@/lib/format";
import type { BackupArgs } from "./args";
import { openSource, type OpenedSource } from "./disk-source";
import { CliError, EXIT, usageError } from "./exit-codes";
import { HubError, describeHubError, type Hub } from "./hub";
import { Interrupted, onInterrupt } from "./interrupt";
import { connectHub, type Io } from "./io";
import { removeLocalFolder } from "./local-export";
import { ProgressView } from "./progress";
import { jobSummary } from "./table";
import { JOB_ENDED, tlsOptions, type BackupJob, type DiskTls } from "./types";

const REPORT_EVERY_MS = 1000;
const READY_TIMEOUT_MS = 30 * 60_000;
const CONNECTIONS = 4;

/** The job ended on the hub while we copied (cancelled in the console, stale, an export crashed). */
class EndedOnHub extends Error {}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal.removeEventListener("abort", aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener("abort", aborted, { once: true });
  });
}

/** A queued job (the hub's ports were busy) until its exports are ready. */
async function untilReady(hub: Hub, job: BackupJob, signal: AbortSignal, io: Io): Promise<BackupJob> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let said = false;
  while (!(job.status === "running" && job.disks.every((d) => d.nbdUri))) {
    if (JOB_ENDED.includes(job.status)) throw new EndedOnHub(`job ${job.id} ended ${job.status}: ${job.error ?? ""}`);
    if (Date.now() > deadline) throw new Error(`the hub had no exports ready for job ${job.id} within 30 min`);
    if (!said) io.out(`job ${job.id} is ${job.status}: waiting for the hub's exports`);
    said = true;
    await sleep(1000, signal);
    job = await hub.call<BackupJob>("GET", `/backups/${job.id}`);
  }
  return job;
}

/** Reports each disk's progress once a second; a 409 (the job is ending) aborts the copy. */
function startReporter(hub: Hub, jobId: string, reported: Map<string, number>, abort: (why: Error) => void) {
  const sent = new Map<string, number>();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      for (const [diskId, bytes] of reported) {
        if (sent.get(diskId) === bytes && bytes > 0) continue;
        await hub.call("POST", `/backups/${jobId}/disks/${diskId}/progress`, { transferredBytes: bytes });
        sent.set(diskId, bytes);
      }
    })()
      .catch((error: unknown) => {
        if (error instanceof HubError && error.status === 409) abort(new EndedOnHub(describeHubError(error)));
      })
      .finally(() => (busy = false));
  }, REPORT_EVERY_MS);
  return () => clearInterval(timer);
}

async function copyDisk(
  source: OpenedSource,
  target: { diskId: string; nbdUri: string; tls: DiskTls | undefined },
  args: BackupArgs,
  signal: AbortSignal,
  io: Io,
  report: (bytes: number) => void,
): Promise<void> {
  let dest: NbdPool | undefined;
  try {
    dest = await openPool(target.nbdUri, {
      connections: CONNECTIONS,
      metaContexts: [],
      signal,
      ...tlsOptions(target.tls),
    });
    if (dest.size < source.size) {
      throw new Error(`the export of disk ${target.diskId} is ${dest.size} bytes, smaller than the source`);
    }
    let ranges: Range[] | undefined;
    if (args.dirtyBitmap) {
      ranges = await dirtyRanges(source.device, args.dirtyBitmap, { signal });
      const changed = ranges.reduce((n, r) => n + r.length, 0);
      io.out(`${target.diskId}: ${formatBytes(changed)} marked changed by dirty bitmap ${args.dirtyBitmap}`);
    }
    const view = new ProgressView(
      io.stdout,
      target.diskId,
      ranges ? ranges.reduce((n, r) => n + r.length, 0) : source.size,
    );
    let last = 0;
    await copy(source.device, dest, {
      ranges,
      // A full backup's target is a new qcow2 (reads zero); an incremental's overlay reads its backing.
      destinationIsZero: !args.incremental,
      signal,
      onProgress: ({ done, total }) => {
        last = done;
        view.update(done);
        // How far through the disk: for an incremental, the share of the changed ranges done.
        report(total > 0 ? Math.floor((done / total) * source.size) : source.size);
      },
    });
    view.end(last);
    report(source.size);
    await dest.disconnect();
    dest = undefined;
  } finally {
    dest?.close();
  }
}

export async function runBackup(args: BackupArgs, io: Io): Promise<number> {
  const hub = await connectHub(args, io);
  const interrupt = onInterrupt(io.say);
  const work = new AbortController();
  const onInterrupted = () => work.abort(interrupt.signal.reason);
  interrupt.signal.addEventListener("abort", onInterrupted);
  const sources: OpenedSource[] = [];
  let job: BackupJob | undefined;
  let stopReports = () => undefined as void;
  try {
    for (const spec of args.disks) {
      work.signal.throwIfAborted();
      const source = await openSource(spec, args.dirtyBitmap);
      sources.push(source);
      if (source.size < 512) throw usageError(`--disk ${spec}: ${source.size} bytes, below the hub's 512`);
      io.out(`disk${sources.length - 1} ← ${spec} (${source.kind}, ${formatBytes(source.size)})`);
    }
    work.signal.throwIfAborted();
    // Not abortable: once sent, the job may exist, and only its answer says which one to cancel.
    job = await hub.call<BackupJob>("POST", "/backups", {
      vmName: args.vm,
      type: args.incremental ? "incremental" : "full",
      mover: "external",
      disks: sources.map((s, i) => ({ diskId: `disk${i}`, sizeBytes: s.size })),
    });
    io.out(`job ${job.id}: ${job.type} backup of ${args.vm}, ${job.status}`);
    // The keys come once, in this answer; they stay in memory only.
    const keys = new Map(job.disks.map((d) => [d.diskId, d.tls]));
    job = await untilReady(hub, job, work.signal, io);
    const reported = new Map<string, number>(job.disks.map((d) => [d.diskId, 0]));
    stopReports = startReporter(hub, job.id, reported, (why) => work.abort(why));
    for (const [i, source] of sources.entries()) {
      const disk = job.disks.find((d) => d.diskId === `disk${i}`);
      if (!disk?.nbdUri) throw new Error(`the hub's answer has no export for disk${i}`);
      const target = { diskId: disk.diskId, nbdUri: disk.nbdUri, tls: keys.get(disk.diskId) };
      await copyDisk(source, target, args, work.signal, io, (bytes) => reported.set(disk.diskId, bytes));
    }
    stopReports();
    for (const [i, source] of sources.entries()) {
      await hub.call("POST", `/backups/${job.id}/disks/disk${i}/progress`, { transferredBytes: source.size });
    }
    io.out(`all disks written: asking the hub to complete job ${job.id} (it checks the targets)`);
    const final = await hub.call<BackupJob>("POST", `/backups/${job.id}/complete`, {
      disks: job.disks.map((d) => ({ diskId: d.diskId })),
    });
    io.out(jobSummary(final));
    return final.status === "completed" ? EXIT.ok : EXIT.failed;
  } catch (error) {
    stopReports();
    const why = work.signal.aborted ? work.signal.reason : error;
    return await endAfterError(hub, job, why, io);
  } finally {
    stopReports();
    interrupt.signal.removeEventListener("abort", onInterrupted);
    for (const source of sources) await source.close().catch(() => undefined);
    await removeLocalFolder();
    interrupt.dispose();
  }
}

/** What a failed or interrupted backup leaves: a cancel (interrupted), or a fail with the reason. */
async function endAfterError(hub: Hub, job: BackupJob | undefined, error: unknown, io: Io): Promise<number> {
  if (error instanceof Interrupted) {
    if (!job) return EXIT.cancelled;
    try {
      await hub.call("POST", `/backups/${job.id}/cancel`);
      const ended = await untilEnded(hub, job.id);
      io.out(jobSummary(ended));
    } catch (cancelError) {
      io.say(`could not cancel job ${job.id}: ${messageOf(cancelError)}`);
    }
    return EXIT.cancelled;
  }
  if (!job) throw error;
  const reason = error instanceof HubError ? describeHubError(error) : messageOf(error);
  if (error instanceof CliError && error.exitCode === EXIT.unreachable) {
    io.say(`${reason}; job ${job.id} is left to the hub (it fails as stale when no report comes)`);
    return EXIT.unreachable;
  }
  const now = await hub.call<BackupJob>("GET", `/backups/${job.id}`).catch(() => undefined);
  if (now && !JOB_ENDED.includes(now.status) && !(error instanceof EndedOnHub)) {
    io.say(`backup failed: ${reason}`);
    await hub.call("POST", `/backups/${job.id}/fail`, { message: reason }).catch((e: unknown) => {
      io.say(`could not report the failure to the hub: ${messageOf(e)}`);
    });
  } else {
    io.say(`job ${job.id} ended on the hub while nbdhub-client was writing it (${reason})`);
  }
  const ended = await untilEnded(hub, job.id).catch(() => now);
  if (ended) io.out(jobSummary(ended));
  return EXIT.failed;
}

/** The job once it ended, or as it is after 30 s (the hub's ending stops exports first). */
async function untilEnded(hub: Hub, id: string): Promise<BackupJob> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = await hub.call<BackupJob>("GET", `/backups/${id}`);
    if (JOB_ENDED.includes(job.status) || Date.now() > deadline) return job;
    await new Promise((r) => setTimeout(r, 250));
  }
}
