// Answers of the dashboard's routes (GET /stats/dashboard, GET /stats/pool-history), built by
// lib/stats/dashboard.ts. Pure zod, shared with the console.
import { z } from "zod";
import { answerTime as isoTime } from "./times";
import { backupTypeSchema, jobStatusSchema } from "./backups";
import { nodeNameSchema } from "./nbd";

const count = z.number().int().min(0);

export const dashboardStatsSchema = z.object({
  /** The start of the counted period (the caller's `since`, else today 00:00 UTC). */
  since: isoTime,
  /** Jobs created since `since`, by status (every status present, 0 when none). */
  jobsByStatus: z.record(jobStatusSchema, count),
  /** Jobs queued or running now, whenever they were created. */
  activeJobs: count,
  /** The last 24 hours, oldest first, one entry per hour (0 for an hour with nothing moved). */
  bytesPerHour: z.array(z.object({ hour: isoTime, bytes: count })),
  /** The most recent failed jobs, newest first. */
  lastFailures: z.array(
    z.object({
      id: z.string(),
      vmName: z.string(),
      type: backupTypeSchema,
      error: z.string().nullable(),
      finishedAt: isoTime.nullable(),
      createdAt: isoTime,
      requestedBy: z.string().nullable(),
    }),
  ),
});
export type DashboardStats = z.infer<typeof dashboardStatsSchema>;

export const poolHistoryRangeSchema = z.enum(["1h", "24h"], { error: "1h or 24h" });
export type PoolHistoryRange = z.infer<typeof poolHistoryRangeSchema>;

/** GET /stats/dashboard?since= */
export const dashboardQuery = z.object({
  since: z.iso.datetime({ offset: true, error: "an ISO-8601 time such as 2026-01-31T00:00:00Z" }).optional(),
});

/** GET /stats/pool-history?range=1h|24h&node= (one node's pool; all nodes' summed without it) */
export const poolHistoryQuery = z.object({
  range: poolHistoryRangeSchema.default("1h"),
  node: nodeNameSchema.optional(),
});

export const poolHistorySchema = z.object({
  range: poolHistoryRangeSchema,
  /** The node charted, or null: every node's pool summed. */
  node: z.string().nullable(),
  from: isoTime,
  to: isoTime,
  bucketSeconds: z.number().int().min(1),
  /** One point per bucket that has samples, oldest first. */
  points: z.array(
    z.object({
      at: isoTime,
      total: count,
      /** The bucket's average, to one decimal. */
      allocated: z.number().min(0),
      allocatedMax: count,
      exports: count,
      bytesMoved: count,
    }),
  ),
});
export type PoolHistory = z.infer<typeof poolHistorySchema>;

/** GET /metrics: the port pool and the exports, then sections other parts add (jobs, inspections, …). */
export const metricsSchema = z
  .object({
    ports: z.object({
      range: z.object({ min: z.number().int(), max: z.number().int() }),
      total: z.number().int(),
      allocated: z.number().int(),
      available: z.number().int(),
      utilizationPercent: z.number(),
    }),
    exports: z.object({
      active: count,
      byStatus: z.record(z.enum(["starting", "ready", "stopping", "stopped", "crashed", "lost"]), count),
      crashesTotal: count,
      startFailuresTotal: count,
      startLatency: z.object({ count, averageSeconds: z.number().nullable() }),
    }),
  })
  .catchall(z.unknown());
