// What the daily purge removes: rows past their retention (NBDHUB_RETENTION_*_DAYS; 0 keeps a
// kind for ever), never a row of something still live: sessions that can still be used,
// events of jobs that have not ended, exports whose qemu-nbd may still run. Deletes go in
// batches, so a first purge of a large table neither holds one long transaction nor more than
// one of the pool's few connections.
import "server-only";
import { Prisma } from "@/lib/generated/prisma/client";
import type { Retention } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";

const BATCH = 5000;
const DAY_MS = 24 * 3600 * 1000;

export type PurgeCounts = {
  auditEvents: number;
  sessions: number;
  jobEvents: number;
  exports: number;
  poolSamples: number;
  repositorySamples: number;
};

/** Run one batched DELETE until it removes less than a batch; returns the rows removed. */
async function deleteInBatches(db: Db, statement: (limit: number) => Prisma.Sql): Promise<number> {
  let total = 0;
  for (;;) {
    const removed = await db.$executeRaw(statement(BATCH));
    total += removed;
    if (removed < BATCH) return total;
  }
}

const cutoffOf = (days: number, now: number) => new Date(now - days * DAY_MS);

export async function purgeExpiredRows(db: Db, retention: Retention, now = Date.now()): Promise<PurgeCounts> {
  const counts: PurgeCounts = {
    auditEvents: 0,
    sessions: 0,
    jobEvents: 0,
    exports: 0,
    poolSamples: 0,
    repositorySamples: 0,
  };
  if (retention.auditDays > 0) {
    const cutoff = cutoffOf(retention.auditDays, now);
    counts.auditEvents = await deleteInBatches(
      db,
      (limit) =>
        Prisma.sql`DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < ${cutoff} ORDER BY id LIMIT ${limit})`,
    );
  }
  if (retention.sessionsDays > 0) {
    // Ended that long ago: expired, revoked, or idle (the idle limit is hours, far below a day).
    const cutoff = cutoffOf(retention.sessionsDays, now);
    counts.sessions = await deleteInBatches(
      db,
      (limit) => Prisma.sql`DELETE FROM sessions WHERE id IN (SELECT id FROM sessions
        WHERE expires_at < ${cutoff} OR revoked_at < ${cutoff} OR last_seen_at < ${cutoff} LIMIT ${limit})`,
    );
  }
  if (retention.jobEventsDays > 0) {
    // Only the timelines of jobs that ended that long ago; the job rows themselves stay.
    const cutoff = cutoffOf(retention.jobEventsDays, now);
    counts.jobEvents = await deleteInBatches(
      db,
      (
        limit,
      ) => Prisma.sql`DELETE FROM job_events WHERE id IN (SELECT e.id FROM job_events e JOIN backup_jobs j ON j.id = e.job_id
        WHERE j.status IN ('completed', 'failed', 'cancelled') AND COALESCE(j.finished_at, j.created_at) < ${cutoff} LIMIT ${limit})`,
    );
  }
  if (retention.exportsDays > 0) {
    const cutoff = cutoffOf(retention.exportsDays, now);
    counts.exports = await deleteInBatches(
      db,
      (limit) => Prisma.sql`DELETE FROM nbd_exports WHERE id IN (SELECT id FROM nbd_exports
        WHERE status IN ('stopped', 'crashed') AND COALESCE(stopped_at, started_at) < ${cutoff} LIMIT ${limit})`,
    );
  }
  if (retention.poolSamplesDays > 0) {
    const cutoff = cutoffOf(retention.poolSamplesDays, now);
    counts.poolSamples = await deleteInBatches(
      db,
      (limit) =>
        Prisma.sql`DELETE FROM pool_samples WHERE at IN (SELECT at FROM pool_samples WHERE at < ${cutoff} LIMIT ${limit})`,
    );
    // The repository's use (the dashboard's other chart) follows the same setting.
    counts.repositorySamples = await deleteInBatches(
      db,
      (limit) => Prisma.sql`DELETE FROM repository_samples WHERE at IN (SELECT at FROM repository_samples
        WHERE at < ${cutoff} LIMIT ${limit})`,
    );
  }
  return counts;
}
