// Reads of jobs for the API: one job with its event log, and the job history with keyset
// pagination (created_at DESC, id DESC) so the 1000th page is as fast as the first with 100,000
// jobs, using the indexes of the init migration.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { invalidInput, notFound } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { eventView, jobView, type BackupJobView, type JobEventView } from "./serialize";
import type { JobListFilter } from "./types";

/**
 * Prisma 7 passes `startsWith` to LIKE as is, so "web_" would also match "web101": escape
 * LIKE's wildcards (names may hold `_`) with its default escape character.
 */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const createdAt = new Date(at);
  if (!id || Number.isNaN(createdAt.getTime())) {
    throw invalidInput({ cursor: "a nextCursor from a previous page" }, "invalid query: cursor");
  }
  return { createdAt, id };
}

export type JobPage = { items: BackupJobView[]; nextCursor: string | null };

export async function listJobs(db: Db, filters: JobListFilter): Promise<JobPage> {
  const where: Prisma.BackupJobWhereInput = {};
  if (filters.status) where.status = filters.status;
  if (filters.vmName) where.vmName = filters.vmName;
  const and: Prisma.BackupJobWhereInput[] = [where];
  if (filters.vmNamePrefix) and.push({ vmName: { startsWith: escapeLike(filters.vmNamePrefix) } });
  if (filters.from || filters.to)
    where.createdAt = {
      ...(filters.from ? { gte: new Date(filters.from) } : {}),
      ...(filters.to ? { lt: new Date(filters.to) } : {}),
    };
  if (filters.cursor) {
    const c = decodeCursor(filters.cursor);
    and.push({ OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }] });
  }
  const rows = await db.backupJob.findMany({
    where: { AND: and },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: filters.limit + 1,
    include: { disks: true },
  });
  const page = rows.slice(0, filters.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(jobView),
    nextCursor: rows.length > filters.limit && last ? encodeCursor(last.createdAt, last.id) : null,
  };
}

export async function jobWithEvents(db: Db, id: string): Promise<BackupJobView & { events: JobEventView[] }> {
  const job = await db.backupJob.findUnique({
    where: { id },
    include: { disks: true, events: { orderBy: { id: "asc" }, take: 1000 } },
  });
  if (!job) throw notFound(`backup job ${id}`);
  return { ...jobView(job), events: job.events.map(eventView) };
}
