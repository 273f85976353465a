// Turns a start request into job and disk rows, after every check that can refuse it: each
// source inspected, each incremental's previous backup found. A refused request creates
// nothing (no row, no file, no port).
import "server-only";
import { randomBytes } from "node:crypto";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { conflict, invalidInput, isDomainError } from "@/lib/errors";
import { mapLimited } from "@/lib/proc/limiter";
import { SourceBusy } from "./bitmaps";
import { planDisk, previousPoint } from "./copy-plan";
import type { CopyPlan } from "./incremental/plan";
import { inspectSource, type InspectedSource } from "./source";
import { targetPathOf } from "./target";
import { INCREMENTAL_TLS_CODE, INCREMENTAL_TLS_REFUSAL, isTlsNbdSource } from "./incremental/tls-source";
import type { StartBackupInput } from "./types";

export type PlannedDisk = {
  diskId: string;
  position: number;
  source: string;
  inspected: InspectedSource | null;
  sizeBytes: number;
  backingPath: string | null;
  targetPath: string;
  /** Null for an external client's disk (the client decides how it writes). */
  plan: CopyPlan | null;
  dirtyBitmap: string | null;
};

/** Disks of one request inspected at once. */
const PLAN_WIDTH = 2;

export function newJobId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

export function exportNameOf(vmName: string, diskId: string): string {
  return `${vmName}-${diskId}`.slice(0, 128);
}

export async function planDisks(
  db: Db,
  config: Config,
  jobId: string,
  request: StartBackupInput,
): Promise<PlannedDisk[]> {
  const details: Record<string, string> = {};
  const messages: string[] = [];
  const codes = new Set<string>();
  // A few disks at a time: each inspection takes a slot of the server-wide limit, and one
  // request of 64 disks must not fill the waiting line by itself.
  const disks: readonly StartBackupInput["disks"][number][] = request.disks;
  const planned = await mapLimited(disks, PLAN_WIDTH, async (disk, position): Promise<PlannedDisk | null> => {
    const diskId = disk.diskId ?? `disk${position}`;
    if (request.type === "incremental" && "source" in disk && isTlsNbdSource(disk.source)) {
      // Before any connection: such a copy could only fail (incremental/tls-source.ts).
      const field = `disks.${position}.source`;
      details[field] = INCREMENTAL_TLS_REFUSAL;
      messages.push(`${field}: ${INCREMENTAL_TLS_REFUSAL}`);
      codes.add(INCREMENTAL_TLS_CODE);
      return null;
    }
    let inspected: InspectedSource | null = null;
    let sizeBytes: number;
    let source: string;
    try {
      if ("source" in disk) {
        inspected = await inspectSource(config, disk.source, `disks.${position}.source`, disk.format);
        sizeBytes = inspected.virtualSize;
        source = disk.source;
      } else {
        sizeBytes = disk.sizeBytes;
        source = "external";
      }
    } catch (error) {
      // Busy is no fault of the request: the answer is 503, to be tried again.
      if (!isDomainError(error) || error.code === "busy") throw error;
      Object.assign(
        details,
        (error.details as Record<string, string>) ?? { [`disks.${position}.source`]: error.message },
      );
      messages.push(error.message.startsWith("disks.") ? error.message : `disks.${position}.source: ${error.message}`);
      codes.add(error.code);
      return null;
    }
    const dirtyBitmap = "dirtyBitmap" in disk ? (disk.dirtyBitmap ?? null) : null;
    if (dirtyBitmap && inspected?.kind !== "nbd") {
      const field = `disks.${position}.dirtyBitmap`;
      details[field] = "only an NBD source has a dirty bitmap to name (a qcow2 file's bitmaps are nbdhub's own)";
      messages.push(`${field}: ${details[field]}`);
      codes.add("validation_failed");
      return null;
    }
    const previous = request.type === "incremental" ? await previousPoint(db, request.vmName, diskId) : null;
    const backingPath = previous?.targetPath ?? null;
    if (request.type === "incremental") {
      if (!backingPath) {
        details[`disks.${position}.diskId`] =
          `no completed backup of disk ${diskId} of ${request.vmName} to build on; run a full backup first`;
        messages.push(`disks.${position}.diskId: ${details[`disks.${position}.diskId`]}`);
        codes.add("no_previous_backup");
        return null;
      }
    }
    let plan: CopyPlan | null = null;
    try {
      plan = inspected ? await planDisk({ type: request.type, source: inspected, previous, dirtyBitmap }) : null;
    } catch (error) {
      if (!(error instanceof SourceBusy)) throw error;
      const field = `disks.${position}.source`;
      throw conflict("source_busy", `${field}: ${error.message}`, { [field]: error.message });
    }
    const targetPath = targetPathOf(config.repositoryDir, request.vmName, diskId, jobId);
    return { diskId, position, source, inspected, sizeBytes, backingPath, targetPath, plan, dirtyBitmap };
  });
  if (Object.keys(details).length > 0) {
    // One code for the answer: the most specific one when all problems agree.
    const code = codes.size === 1 ? [...codes][0] : "validation_failed";
    throw invalidInput(details, messages.join("; "), code);
  }
  return planned as PlannedDisk[];
}

/** Where a job comes from beyond its requester: the policy that made it, if any. */
export type JobOrigin = { policyId?: string };

export async function insertJob(
  db: Db,
  /** The node that runs it (this server's). */
  node: string,
  jobId: string,
  request: StartBackupInput,
  disks: PlannedDisk[],
  requestedBy: string,
  origin: JobOrigin = {},
) {
  const totalBytes = disks.reduce((sum, d) => sum + d.sizeBytes, 0);
  // The row as created: the request's answer when the database goes away right after.
  return db.backupJob.create({
    include: { disks: true },
    data: {
      id: jobId,
      node,
      vmName: request.vmName,
      type: request.type,
      mover: request.mover,
      status: "queued",
      requestedBy,
      policyId: origin.policyId ?? null,
      totalBytes: BigInt(totalBytes),
      maxRunSeconds: request.maxRunSeconds ?? null,
      retries: request.retries ?? 0,
      disks: {
        create: disks.map((d) => ({
          diskId: d.diskId,
          position: d.position,
          source: d.source,
          sourceFormat: d.inspected?.format ?? null,
          targetPath: d.targetPath,
          backingPath: d.backingPath,
          exportName: exportNameOf(request.vmName, d.diskId),
          status: "pending",
          totalBytes: BigInt(d.sizeBytes),
          copyMode: d.plan?.mode ?? null,
          copyReason: d.plan?.reason ?? null,
          backingJobId: d.plan && d.plan.mode !== "full" ? d.plan.backingJobId : null,
          dirtyBitmap: d.dirtyBitmap,
        })),
      },
    },
  });
}
