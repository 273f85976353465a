// Which backup a file belongs to, asked by the export manager before it opens a file for
// writing (issue 11, item 2). A completed backup, and every file a backup stands on (its
// backing file and the qcow2 backing chain below that), is read-only: writing into it would
// silently corrupt every restore point built on it. A target that a running job is still
// writing belongs to that job alone. The backup rows live in the same database, so this is
// enforced here, for every caller, not only by the HTTP route.
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";
import { conflict, type DomainError } from "@/lib/errors";
import type { Db } from "@/lib/db/prisma";

/** Disk states in which the job's own export may still write its target. */
const WRITABLE_BY_OWN_JOB = new Set(["pending", "exporting", "transferring"]);
const ENDED_WITHOUT_BACKUP = new Set(["failed", "cancelled"]);
/** A chain deeper than this is not one nbdhub made: stop reading. */
const MAX_CHAIN = 256;

type DiskRef = {
  jobId: string;
  diskId: string;
  status: string;
  targetPath: string | null;
  backingPath: string | null;
  job: { vmName: string };
};

/** The spellings of `file` a row may hold: its real path and the path under the configured root. */
async function spellings(repositoryDir: string, file: string): Promise<string[]> {
  const names = new Set([file]);
  const realRoot = await fs.realpath(repositoryDir).catch(() => repositoryDir);
  const rel = path.relative(realRoot, file);
  if (!rel.startsWith("..") && !path.isAbsolute(rel)) names.add(path.join(path.resolve(repositoryDir), rel));
  return [...names];
}

/** The backing file a qcow2 header names (resolved against the image's folder), or null. */
async function qcow2BackingFile(file: string): Promise<string | null> {
  const handle = await fs.open(file, "r").catch(() => null);
  if (!handle) return null;
  try {
    const header = Buffer.alloc(20);
    const { bytesRead } = await handle.read(header, 0, 20, 0);
    if (bytesRead < 20 || header.readUInt32BE(0) !== 0x514649fb) return null; // "QFI\xfb"
    const offset = Number(header.readBigUInt64BE(8));
    const size = header.readUInt32BE(16);
    if (offset === 0 || size === 0 || size > 4096) return null;
    const name = Buffer.alloc(size);
    await handle.read(name, 0, size, offset);
    const backing = name.toString("utf8");
    return path.resolve(path.dirname(file), backing);
  } finally {
    await handle.close();
  }
}

function who(row: DiskRef): string {
  return `disk ${row.diskId} of backup job ${row.jobId} (VM ${row.job.vmName})`;
}

function immutable(given: string, message: string, row: DiskRef): DomainError {
  const sentence = `${given} ${message}; it can only be exported read-only (readOnly: true)`;
  return conflict("backup_immutable", sentence, {
    filePath: "a completed backup, or a file one stands on: read-only",
    jobId: row.jobId,
    diskId: row.diskId,
  });
}

type LooseLink = { backing_path: string; job_id: string; disk_id: string; vm_name: string };

/** Backing files of completed backups that no completed row describes (where header reading starts). */
function looseChainLinks(db: Db): Promise<LooseLink[]> {
  return db.$queryRaw<LooseLink[]>`
    SELECT DISTINCT ON (d.backing_path) d.backing_path, d.job_id, d.disk_id, j.vm_name
      FROM backup_disks d JOIN backup_jobs j ON j.id = d.job_id
     WHERE d.status = 'completed' AND d.backing_path IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM backup_disks t WHERE t.target_path = d.backing_path AND t.status = 'completed')`;
}

/**
 * Why `file` (a real path inside the repository) must not be opened for writing by an export
 * of `jobId`, or null when it may. `given` is the path as the caller wrote it, for the message.
 */
export async function writeRefusal(
  db: Db,
  repositoryDir: string,
  file: string,
  given: string,
  jobId: string,
): Promise<DomainError | null> {
  // The chain's starting points are read beside the rows (one round trip less on every
  // writable export's start); used only when the rows refuse nothing.
  const looseLinks = looseChainLinks(db);
  looseLinks.catch(() => undefined); // awaited below, unless a row refuses first
  const names = await spellings(repositoryDir, file);
  // Raw SQL: one join in one round trip, on the path of every writable export's start.
  const found = await db.$queryRaw<(Omit<DiskRef, "job"> & { vmName: string })[]>`
    SELECT d.job_id AS "jobId", d.disk_id AS "diskId", d.status, d.target_path AS "targetPath",
           d.backing_path AS "backingPath", j.vm_name AS "vmName"
      FROM backup_disks d JOIN backup_jobs j ON j.id = d.job_id
     WHERE d.target_path = ANY(${names}::text[]) OR d.backing_path = ANY(${names}::text[])`;
  const rows: DiskRef[] = found.map(({ vmName, ...r }) => ({ ...r, job: { vmName } }));
  const targets = rows.filter((r) => r.targetPath && names.includes(r.targetPath));
  const completed = targets.find((r) => r.status === "completed");
  if (completed) return immutable(given, `is the completed backup of ${who(completed)}`, completed);
  const base = rows.find((r) => r.backingPath && names.includes(r.backingPath) && !ENDED_WITHOUT_BACKUP.has(r.status));
  if (base) return immutable(given, `is the backup that ${who(base)} stands on`, base);
  for (const row of targets) {
    if (ENDED_WITHOUT_BACKUP.has(row.status)) continue; // a leftover of a job that did not complete
    if (row.jobId !== jobId || !WRITABLE_BY_OWN_JOB.has(row.status)) {
      const sentence = `${given} is the target of ${who(row)}, which is ${row.status}; only that job writes it`;
      const details = { filePath: "a target of a running backup job", jobId: row.jobId };
      return conflict("file_in_use", sentence, details);
    }
  }
  // The qcow2 chain below a completed backup's backing file, where no row describes it (a base
  // whose own row is gone): read the headers. Rows cover every chain nbdhub makes itself.
  const loose = await looseLinks;
  for (const link of loose) {
    let next = await qcow2BackingFile(link.backing_path);
    for (let depth = 0; next && depth < MAX_CHAIN; depth += 1) {
      if (names.includes(next)) {
        const row: DiskRef = {
          jobId: link.job_id,
          diskId: link.disk_id,
          status: "completed",
          targetPath: null,
          backingPath: link.backing_path,
          job: { vmName: link.vm_name },
        };
        return immutable(given, `is in the backing chain that ${who(row)} stands on`, row);
      }
      next = await qcow2BackingFile(next);
    }
  }
  return null;
}
