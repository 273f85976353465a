// Reads of jobs for the API: one job with its event log, and the job history with keyset
// pagination (created_at DESC, id DESC) so the 1000th page is as fast as the first with 100,000
// jobs, using the indexes of the init migration.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { keysetPage, pageQuery, type KeysetPage } from "@/lib/db/keyset-page";
import { notFound } from "@/lib/errors";
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

export type JobPage = KeysetPage<BackupJobView>;

export async function listJobs(db: Db, filters: JobListFilter): Promise<JobPage> {
  const where: Prisma.BackupJobWhereInput = {};
  if (filters.status) where.status = filters.status;
  if (filters.vmName) where.vmName = filters.vmName;
  if (filters.node) where.node = filters.node;
  const and: Prisma.BackupJobWhereInput[] = [where];
  if (filters.vmNamePrefix) and.push({ vmName: { startsWith: escapeLike(filters.vmNamePrefix) } });
  if (filters.from || filters.to)
    where.createdAt = {
      ...(filters.from ? { gte: new Date(filters.from) } : {}),
      ...(filters.to ? { lt: new Date(filters.to) } : {}),
    };
  const rows = await db.backupJob.findMany(pageQuery(and, filters));
  return keysetPage(rows, filters.limit, jobView);
}

export async function jobWithEvents(db: Db, id: string): Promise<BackupJobView & { events: JobEventView[] }> {
  const job = await db.backupJob.findUnique({
    where: { id },
    include: { disks: true, events: { orderBy: { id: "asc" }, take: 1000 } },
  });
  if (!job) throw notFound(`backup job ${id}`);
  return { ...jobView(job), events: job.events.map(eventView) };
}
