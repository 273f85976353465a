// `nbdhub-client restore`: a restore point served read-only by the hub (POST /restores, export
// mode), each chosen disk copied into a new raw file (or an nbd:// destination), then the
// restore cancelled so its exports end. `--to` names the destination of the one disk chosen,
// or, for several disks (or when it is a folder), a folder that gets one DISK.raw per disk.
import { constants, promises as fs } from "node:fs";
import path from "node:path";
import { copy, openPool, type NbdPool } from "@/lib/nbd/client";
import { isNbdUri, parseNbdUri } from "@/lib/nbd/uri";
import { formatBytes } from "@/lib/format";
import { messageOf } from "@/lib/messages";
import type { RestoreArgs } from "./args";
import { CliError, EXIT, usageError } from "./exit-codes";
import { describeHubError, HubError, type Hub } from "./hub";
import { Interrupted, onInterrupt } from "./interrupt";
import { connectHub, type Io } from "./io";
import { removeLocalFolder, startLocalExport, type LocalExport } from "./local-export";
import { ProgressView } from "./progress";
import { RESTORE_ENDED, tlsOptions, type BackupJob, type Restore, type RestoreDisk } from "./types";

const READY_TIMEOUT_MS = 5 * 60_000;
/** Long enough for a big disk; the restore is cancelled as soon as the copy ends. */
const EXPORT_TTL_SECONDS = 24 * 3600;
const CONNECTIONS = 4;

type Destination = { kind: "file"; path: string } | { kind: "nbd"; uri: string };

async function isFolder(p: string): Promise<boolean> {
  return (await fs.stat(p).catch(() => null))?.isDirectory() ?? false;
}

/** Where each disk goes; refuses (exit 2) what would overwrite a file without --force. */
export async function destinations(to: string, disks: string[], force: boolean): Promise<Map<string, Destination>> {
  const out = new Map<string, Destination>();
  if (isNbdUri(to)) {
    try {
      const address = parseNbdUri(to);
      if (address.tls) throw new Error("nbdhub-client has no TLS credentials for a destination");
    } catch (error) {
      throw usageError(`--to ${to}: ${messageOf(error)}`);
    }
    if (disks.length !== 1) throw usageError(`--to ${to}: an NBD destination takes one disk; name it with --disk`);
    out.set(disks[0], { kind: "nbd", uri: to });
    return out;
  }
  const folder = disks.length > 1 || to.endsWith("/") || (await isFolder(to));
  if (folder && !(await isFolder(to))) {
    throw usageError(`--to ${to}: ${disks.length} disks go into a folder (one DISK.raw each), and there is none`);
  }
  for (const disk of disks) {
    const file = path.resolve(folder ? path.join(to, `${disk}.raw`) : to);
    if (!(await isFolder(path.dirname(file)))) throw usageError(`--to ${file}: its folder does not exist`);
    const stat = await fs.lstat(file).catch(() => null);
    if (stat && !force) throw usageError(`--to ${file} exists: pass --force to overwrite it`);
    if (stat && !stat.isFile()) throw usageError(`--to ${file} exists and is not a regular file`);
    out.set(disk, { kind: "file", path: file });
  }
  return out;
}

async function untilReady(hub: Hub, restore: Restore, signal: AbortSignal): Promise<Restore> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (restore.status !== "ready") {
    if (RESTORE_ENDED.includes(restore.status)) {
      throw new CliError(`restore ${restore.id} ended ${restore.status}: ${restore.error ?? ""}`, EXIT.failed);
    }
    if (Date.now() > deadline) throw new Error(`restore ${restore.id} was not ready within 5 min`);
    await new Promise((r) => setTimeout(r, 250));
    signal.throwIfAborted();
    restore = await hub.call<Restore>("GET", `/restores/${restore.id}`);
  }
  return restore;
}

/** Opens the destination; a new file is created (or emptied with --force) and served by qemu-nbd. */
async function openDestination(dest: Destination, size: number, signal: AbortSignal) {
  if (dest.kind === "nbd") {
    const device = await openPool(dest.uri, { connections: CONNECTIONS, metaContexts: [], signal });
    if (device.size < size) {
      device.close();
      throw new Error(`the destination ${dest.uri} is ${device.size} bytes, smaller than the disk (${size})`);
    }
    return { device, isZero: false, writer: undefined as LocalExport | undefined };
  }
  // O_NOFOLLOW: a link put there since the check is not followed.
  const handle = await fs.open(dest.path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    await handle.truncate(0);
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
  const writer = await startLocalExport({ file: dest.path, format: "raw", readOnly: false });
  try {
    const device = await openPool(writer.uri, { connections: CONNECTIONS, metaContexts: [], signal });
    return { device, isZero: true, writer };
  } catch (error) {
    await writer.stop();
    throw error;
  }
}

async function copyBack(disk: RestoreDisk, dest: Destination, signal: AbortSignal, io: Io): Promise<void> {
  if (!disk.nbdUri) throw new Error(`the hub serves no export for disk ${disk.diskId}`);
  let source: NbdPool | undefined;
  let target: Awaited<ReturnType<typeof openDestination>> | undefined;
  try {
    source = await openPool(disk.nbdUri, { connections: CONNECTIONS, signal, ...tlsOptions(disk.tls) });
    target = await openDestination(dest, source.size, signal);
    const view = new ProgressView(io.stdout, disk.diskId, source.size);
    let last = 0;
    await copy(source, target.device, {
      destinationIsZero: target.isZero,
      signal,
      onProgress: ({ done }) => {
        last = done;
        view.update(done);
      },
    });
    view.end(last);
    await target.device.disconnect();
    await source.disconnect();
    io.out(`${disk.diskId} → ${dest.kind === "file" ? dest.path : dest.uri} (${formatBytes(source.size)})`);
  } finally {
    source?.close();
    target?.device.close();
    await target?.writer?.stop();
  }
}

export async function runRestore(args: RestoreArgs, io: Io): Promise<number> {
  const hub = await connectHub(args, io);
  const job = await hub.call<BackupJob>("GET", `/backups/${encodeURIComponent(args.job)}`);
  const chosen = args.disks.length ? args.disks : job.disks.map((d) => d.diskId);
  const unknown = chosen.filter((d) => !job.disks.some((j) => j.diskId === d));
  if (unknown.length) {
    const known = job.disks.map((d) => d.diskId).join(", ");
    throw usageError(`job ${job.id} has no disk ${unknown.join(", ")} (its disks: ${known})`);
  }
  const where = await destinations(args.to, chosen, args.force);
  const interrupt = onInterrupt(io.say);
  let restore: Restore | undefined;
  const written: string[] = [];
  try {
    restore = await hub.call<Restore>("POST", "/restores", {
      jobId: job.id,
      disks: chosen,
      mode: "export",
      ttlSeconds: EXPORT_TTL_SECONDS,
    });
    io.out(`restore ${restore.id} of job ${job.id} (${job.vmName}): ${chosen.join(", ")}`);
    interrupt.signal.throwIfAborted();
    // The keys, when the hub serves TLS, come in this answer only.
    const keys = new Map(restore.disks.map((d) => [d.diskId, d.tls]));
    restore = await untilReady(hub, restore, interrupt.signal);
    for (const disk of restore.disks) {
      const dest = where.get(disk.diskId);
      if (!dest) continue;
      if (dest.kind === "file") written.push(dest.path);
      await copyBack({ ...disk, tls: disk.tls ?? keys.get(disk.diskId) }, dest, interrupt.signal, io);
    }
    await hub.call("POST", `/restores/${restore.id}/cancel`);
    io.out(`restore ${restore.id}: every disk copied; its exports are ended`);
    return EXIT.ok;
  } catch (error) {
    const why = interrupt.signal.aborted ? interrupt.signal.reason : error;
    for (const file of written) await fs.rm(file, { force: true });
    if (restore) {
      await hub.call("POST", `/restores/${restore.id}/cancel`).catch((e: unknown) => {
        if (!(e instanceof HubError && e.status === 409))
          io.say(`could not end restore ${restore?.id}: ${messageOf(e)}`);
      });
    }
    if (why instanceof Interrupted) return EXIT.cancelled;
    if (!restore || why instanceof CliError) throw why;
    io.say(`restore failed: ${why instanceof HubError ? describeHubError(why) : messageOf(why)}`);
    return EXIT.failed;
  } finally {
    await removeLocalFolder();
    interrupt.dispose();
  }
}
