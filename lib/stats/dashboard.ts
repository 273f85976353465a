// The dashboard's numbers: jobs by status since a time, bytes moved per hour over 24 hours,
// the last failures, and the pool's history downsampled for a chart. Reads only; the samples
// are written by pool-sampler.ts.
import "server-only";
import type { BackupType, JobStatus } from "@/lib/backup/types";
import type { Db } from "@/lib/db/prisma";
import { Prisma } from "@/lib/generated/prisma/client";
import type { DashboardStats, PoolHistory, PoolHistoryRange } from "./types";

const JOB_STATUSES: readonly JobStatus[] = ["queued", "running", "completed", "failed", "cancelled"];

const HOUR_MS = 3600 * 1000;

function startOfUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export async function dashboardStats(
  db: Db,
  { since, now = new Date(), failures = 8 }: { since?: Date; now?: Date; failures?: number } = {},
): Promise<DashboardStats> {
  const from = since ?? startOfUtcDay(now);
  const firstHour = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS - 23 * HOUR_MS;
  const [byStatus, activeJobs, hours, failed] = await Promise.all([
    db.backupJob.groupBy({ by: ["status"], where: { createdAt: { gte: from } }, _count: { _all: true } }),
    db.backupJob.count({ where: { status: { in: ["queued", "running"] } } }),
    db.$queryRaw<{ bucket: bigint; bytes: bigint | null }[]>`
      SELECT (floor(extract(epoch FROM at) / 3600) * 3600)::bigint AS bucket, sum(bytes_moved)::bigint AS bytes
      FROM pool_samples WHERE at >= ${new Date(firstHour)} GROUP BY 1`,
    db.backupJob.findMany({
      where: { status: "failed" },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: failures,
      select: { id: true, vmName: true, type: true, error: true, finishedAt: true, createdAt: true, requestedBy: true },
    }),
  ]);
  const jobsByStatus = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  for (const row of byStatus) {
    const status = row.status as JobStatus;
    if (JOB_STATUSES.includes(status)) jobsByStatus[status] = row._count._all;
  }
  const byHour = new Map(hours.map((h) => [Number(h.bucket) * 1000, Number(h.bytes ?? 0)]));
  const bytesPerHour = Array.from({ length: 24 }, (_, i) => {
    const at = firstHour + i * HOUR_MS;
    return { hour: new Date(at).toISOString(), bytes: byHour.get(at) ?? 0 };
  });
  return {
    since: from.toISOString(),
    jobsByStatus,
    activeJobs,
    bytesPerHour,
    lastFailures: failed.map((j) => ({
      ...j,
      type: j.type as BackupType,
      finishedAt: j.finishedAt?.toISOString() ?? null,
      createdAt: j.createdAt.toISOString(),
    })),
  };
}

/**
 * 1 h in 30 s buckets (120 points), 24 h in 10 min buckets (144 points): enough for a chart,
 * whatever the sample rate.
 */
const POOL_HISTORY_BUCKETS: Record<PoolHistoryRange, { spanSeconds: number; bucketSeconds: number }> = {
  "1h": { spanSeconds: 3600, bucketSeconds: 30 },
  "24h": { spanSeconds: 24 * 3600, bucketSeconds: 600 },
};

/**
 * One node's pool (`node`), or all nodes' together: each node's bucket first (its range, its
 * average and peak use, its exports), then their sum per bucket. A bucket's total is the ranges
 * of the nodes that sampled in it, so a lost node's ports leave the chart with its samples.
 */
export async function poolHistory(
  db: Db,
  range: PoolHistoryRange,
  { now = new Date(), node }: { now?: Date; node?: string } = {},
): Promise<PoolHistory> {
  const { spanSeconds, bucketSeconds } = POOL_HISTORY_BUCKETS[range];
  const from = new Date(now.getTime() - spanSeconds * 1000);
  const ofNode = node === undefined ? Prisma.empty : Prisma.sql`AND node = ${node}`;
  const rows = await db.$queryRaw<
    { bucket: bigint; total: number; allocated: number; allocated_max: number; exports: number; bytes: bigint | null }[]
  >`
    SELECT bucket, sum(total)::int AS total, sum(allocated)::float8 AS allocated,
           sum(allocated_max)::int AS allocated_max, sum(exports)::int AS exports, sum(bytes)::bigint AS bytes
    FROM (
      SELECT (floor(extract(epoch FROM at) / ${bucketSeconds}::int) * ${bucketSeconds}::int)::bigint AS bucket, node,
             max(total) AS total, avg(allocated) AS allocated, max(allocated) AS allocated_max,
             max(exports) AS exports, sum(bytes_moved) AS bytes
      FROM pool_samples WHERE at >= ${from} ${ofNode} GROUP BY 1, 2
    ) per_node GROUP BY 1 ORDER BY 1`;
  return {
    range,
    node: node ?? null,
    from: from.toISOString(),
    to: now.toISOString(),
    bucketSeconds,
    points: rows.map((r) => ({
      at: new Date(Number(r.bucket) * 1000).toISOString(),
      total: r.total,
      allocated: Math.round(r.allocated * 10) / 10,
      allocatedMax: r.allocated_max,
      exports: r.exports,
      bytesMoved: Number(r.bytes ?? 0),
    })),
  };
}
