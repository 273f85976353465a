// A backup that would not fit is refused before anything starts (issue 16): no row, no port, no
// process, no file. The estimate is an upper bound of what the job writes into the repository:
// - a full: the bytes each source holds (the allocated blocks of a file source, which a sparse
//   raw file or a qcow2 keeps small; an NBD source's whole size, which nbdhub cannot read
//   without copying it; an external disk's announced size);
// - an incremental: the same bound. Until incrementals move only changed blocks (the
//   incrementals work: dirty bitmaps and content diff), the mover writes the whole source
//   into the overlay, so anything smaller could let it run out of space half-way. Once
//   `copyMode` exists, a changed-blocks disk can be estimated from its bitmap here.
// Jobs already queued or running still have bytes to write: those are counted as taken.
import "server-only";
import { promises as fs } from "node:fs";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { DomainError } from "@/lib/errors";
import type { PlannedDisk } from "./create";

export type SpaceEstimate = { neededBytes: number; freeBytes: number; pendingBytes: number; reserveBytes: number };

/** The bytes a disk may write into the repository (see the top of this file). */
async function diskEstimate(disk: PlannedDisk): Promise<number> {
  const inspected = disk.inspected;
  if (inspected?.kind === "file") {
    const stat = await fs.stat(inspected.path);
    return Math.min(stat.blocks * 512, Math.max(disk.sizeBytes, stat.size));
  }
  return disk.sizeBytes;
}

/** Free bytes for an unprivileged writer on the file system holding `dir`. */
export async function freeBytesOf(dir: string): Promise<{ totalBytes: number; freeBytes: number }> {
  const s = await fs.statfs(dir);
  return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
}

/** What queued and running jobs still have to write (their sizes less what they wrote). */
async function pendingBytes(db: Db): Promise<number> {
  const rows = await db.backupJob.findMany({
    where: { status: { in: ["queued", "running"] } },
    select: { totalBytes: true, transferredBytes: true },
  });
  return rows.reduce((sum, r) => sum + Math.max(0, Number(r.totalBytes - r.transferredBytes)), 0);
}

function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Throws `repository_full` (507) when the job's estimate and the reserve do not fit in the free space. */
export async function checkRepositorySpace(
  db: Db,
  config: Pick<Config, "repositoryDir" | "repositoryReserveBytes">,
  disks: readonly PlannedDisk[],
): Promise<SpaceEstimate> {
  const estimates = await Promise.all(disks.map(diskEstimate));
  const neededBytes = estimates.reduce((a, b) => a + b, 0);
  const [{ freeBytes }, pending] = await Promise.all([freeBytesOf(config.repositoryDir), pendingBytes(db)]);
  const reserveBytes = config.repositoryReserveBytes;
  const available = freeBytes - pending - reserveBytes;
  if (neededBytes > available) {
    const missing = neededBytes - available;
    const message =
      `the repository is too full for this backup: it may need up to ${formatBytes(neededBytes)}, ` +
      `${formatBytes(freeBytes)} are free` +
      (pending > 0 ? `, jobs under way may still write ${formatBytes(pending)}` : "") +
      ` and ${formatBytes(reserveBytes)} are kept in reserve (NBDHUB_REPOSITORY_RESERVE): ` +
      `${formatBytes(missing)} are missing`;
    throw new DomainError("conflict", "repository_full", message, {
      neededBytes,
      freeBytes,
      pendingBytes: pending,
      reserveBytes,
      missingBytes: missing,
    });
  }
  return { neededBytes, freeBytes, pendingBytes: pending, reserveBytes };
}
