// A restore request turned into rows, after every check that can refuse it: the point exists
// and completed, each chosen disk is one of its disks and its file is there, the destination is
// allowed and new, and the pool holds a port for every disk at once (reserved here, as a backup
// reserves at admission). A refused request changes nothing: no row, no port, no file.
import "server-only";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { conflict, invalidInput } from "@/lib/errors";
import { messageOf } from "@/lib/messages";
import type { Allocation, PortPoolApi } from "@/lib/nbd/types";
import { checkDestination, type CheckedDestination } from "./destination";
import { createOutput } from "./copy-disk";
import { restorePoint } from "./points";
import type { RestorePointDiskView, StartRestoreInput } from "./types";

export const DEFAULT_TTL_SECONDS = 3600;
export const MAX_TTL_SECONDS = 7 * 24 * 3600;

export type PlannedRestoreDisk = RestorePointDiskView & { port: number; exportName: string };
export type RestorePlan = {
  id: string;
  jobId: string;
  vmName: string;
  mode: "export" | "copy";
  ttlSeconds: number;
  disks: PlannedRestoreDisk[];
  destination: CheckedDestination | null;
};

export function newRestoreId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `restore-${stamp}-${randomBytes(3).toString("hex")}`;
}

function checkShape(input: StartRestoreInput): void {
  const details: Record<string, string> = {};
  if (input.mode === "export" && input.destination) details.destination = 'only for mode "copy"';
  if (input.mode === "copy" && !input.destination) details.destination = "where to copy to: { path } or { nbd }";
  if (input.mode === "copy" && input.ttlSeconds !== undefined) details.ttlSeconds = 'only for mode "export"';
  const ttl = input.ttlSeconds;
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS)) {
    details.ttlSeconds = `whole seconds from 1 to ${MAX_TTL_SECONDS}`;
  }
  if (Object.keys(details).length) {
    const fields = Object.entries(details)
      .map(([k, v]) => `${k}: ${v}`)
      .join("; ");
    throw invalidInput(details, `invalid body: ${fields}`);
  }
}

/** Check everything and reserve the ports; nothing is written to the database yet. */
export async function planRestore(
  db: Db,
  config: Config,
  ports: PortPoolApi,
  input: StartRestoreInput,
): Promise<RestorePlan> {
  checkShape(input);
  const point = await restorePoint(db, input.jobId);
  const chosen = input.disks ?? point.disks.map((d) => d.diskId);
  const details: Record<string, string> = {};
  chosen.forEach((diskId, i) => {
    if (!point.disks.some((d) => d.diskId === diskId)) details[`disks.${i}`] = `not a disk of job ${input.jobId}`;
    else if (chosen.indexOf(diskId) !== i) details[`disks.${i}`] = `disk ${diskId} is named twice`;
  });
  if (chosen.length === 0) details.disks = "at least one disk";
  if (Object.keys(details).length) {
    const known = point.disks.map((d) => d.diskId).join(", ");
    throw invalidInput(details, `unknown disk for backup job ${input.jobId} (its disks: ${known})`, "unknown_disk");
  }
  if (input.mode === "copy" && chosen.length > 1) {
    const sentence = "a copy restore writes one disk to its destination: name that disk in disks";
    throw invalidInput({ disks: 'exactly one disk for mode "copy"' }, sentence);
  }
  const disks = point.disks.filter((d) => chosen.includes(d.diskId));
  for (const disk of disks) {
    const exists = await fs.stat(disk.path).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) {
      throw conflict("point_unavailable", `the file of disk ${disk.diskId} of backup job ${input.jobId} is missing`);
    }
  }
  const destination = input.destination ? await checkDestination(config, input.destination) : null;
  const id = newRestoreId();
  const exportNames = disks.map((d) => `restore-${d.diskId}`.slice(0, 128));
  const reserved: Allocation[] = await ports.reserve(disks.length, { jobId: id, vmName: point.vmName, exportNames });
  return {
    id,
    jobId: point.jobId,
    vmName: point.vmName,
    mode: input.mode,
    ttlSeconds: input.ttlSeconds ?? DEFAULT_TTL_SECONDS,
    disks: disks.map((d, i) => ({ ...d, port: reserved[i].port, exportName: exportNames[i] })),
    destination,
  };
}

/** Create the output file (copy to a file) and the rows; undo the plan when either fails. */
export async function admitRestore(
  db: Db,
  /** The node that serves or copies it (this server's). */
  node: string,
  ports: PortPoolApi,
  plan: RestorePlan,
  requestedBy: string,
): Promise<void> {
  const { destination } = plan;
  let created = false;
  try {
    if (destination) {
      await createOutput(destination, plan.disks[0].virtualSize).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "EEXIST" || /already exists/.test(messageOf(error))) {
          const sentence = "destination.path: the file appeared meanwhile; a restore writes only a new file";
          throw conflict("destination_exists", sentence);
        }
        throw error;
      });
      created = destination.kind === "file";
    }
    const now = new Date();
    await db.restore.create({
      data: {
        id: plan.id,
        node,
        jobId: plan.jobId,
        vmName: plan.vmName,
        mode: plan.mode,
        status: "running",
        startedAt: now,
        requestedBy,
        expiresAt: plan.mode === "export" ? new Date(now.getTime() + plan.ttlSeconds * 1000) : null,
        disks: {
          create: plan.disks.map((d, position) => ({
            diskId: d.diskId,
            position,
            pointPath: d.path,
            chain: d.chain,
            destination: destination ? destination.asked : undefined,
            outputPath: destination?.kind === "file" ? destination.path : null,
            exportName: d.exportName,
            status: "pending",
            totalBytes: BigInt(d.virtualSize),
          })),
        },
      },
    });
  } catch (error) {
    if (created && destination?.kind === "file") await fs.rm(destination.path, { force: true }).catch(() => undefined);
    await ports.releaseJob(plan.id).catch(() => undefined);
    throw error;
  }
}
