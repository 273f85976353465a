// Schemas of the restore routes (docs/api.md "Restore points and restores"): requests parsed by
// the routes, answers describing what they send. Shared with the console (no server imports):
// its types come from here (lib/queries/restore-types.ts).
import { z } from "zod";
import { exportTlsKeySchema, nodeNameSchema } from "./nbd";
import { nameSchema } from "@/lib/api/names";
import { pageCursorSchema, pageLimitSchema } from "./paging";

const MAX_TTL_SECONDS = 7 * 24 * 3600;

export const restoreStatusSchema = z.enum([
  "queued",
  "running",
  "ready",
  "completed",
  "failed",
  "cancelled",
  "expired",
]);
export const restoreDiskStatusSchema = z.enum([
  "pending",
  "exporting",
  "ready",
  "transferring",
  "verifying",
  "completed",
  "failed",
  "cancelled",
  "expired",
]);

const ttlSeconds = z
  .number({ error: `seconds, from 1 to ${MAX_TTL_SECONDS}` })
  .int("whole seconds")
  .min(1, `seconds, from 1 to ${MAX_TTL_SECONDS}`)
  .max(MAX_TTL_SECONDS, `seconds, from 1 to ${MAX_TTL_SECONDS}`);

const path = z
  .string({ error: "a new file's path under the sources directory" })
  .min(1, "a new file's path under the sources directory")
  .max(4096, "at most 4096 characters");

export const destinationSchema = z.union(
  [
    z.strictObject({ path, format: z.enum(["raw", "qcow2"], { error: 'either "raw" or "qcow2"' }).optional() }),
    z.strictObject({
      nbd: z.string({ error: "an nbd:// URI" }).min(1, "an nbd:// URI").max(4096, "at most 4096 characters"),
    }),
  ],
  { error: "{ path, format? } (a new file under the sources directory) or { nbd } (an nbd:// URI)" },
);

export const startRestoreBody = z.strictObject({
  jobId: nameSchema,
  // The node to run on: the point's own (decision 032); another is refused.
  node: nodeNameSchema.optional(),
  disks: z
    .array(nameSchema, { error: "a list of disk ids" })
    .min(1, "at least one disk")
    .max(64, "at most 64 disks")
    .optional(),
  mode: z.enum(["export", "copy"], { error: 'either "export" or "copy"' }),
  destination: destinationSchema.optional(),
  ttlSeconds: ttlSeconds.optional(),
});

export const extendRestoreBody = z.strictObject({ ttlSeconds });

export const listRestoresQuery = z.strictObject({
  status: restoreStatusSchema.optional(),
  vmName: nameSchema.optional(),
  /** Restores of this node only (docs/api.md "Nodes"). */
  node: nodeNameSchema.optional(),
  limit: pageLimitSchema,
  cursor: pageCursorSchema,
});

export const restoreIdParams = z.object({ id: nameSchema });
export const vmParams = z.object({ vmName: nameSchema });

const destinationView = z.union([
  z.object({ path: z.string(), format: z.enum(["raw", "qcow2"]).optional() }),
  z.object({ nbd: z.string() }),
]);

export const restoreDiskView = z.object({
  diskId: z.string(),
  port: z.number().int().nullable(),
  nbdUri: z.string().nullable(),
  exportName: z.string().nullable(),
  pid: z.number().int().nullable(),
  destination: destinationView.nullable(),
  status: restoreDiskStatusSchema,
  totalBytes: z.number(),
  transferredBytes: z.number(),
  bytesPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
  error: z.string().nullable(),
  chain: z.array(z.string()),
  progressAt: z.string().nullable(),
  stalledSince: z.string().nullable(),
  /** Export mode with NBDHUB_NBD_TLS=required: the export's key, in the 202 answer only. */
  tls: exportTlsKeySchema.optional(),
});

export const restoreView = z.object({
  id: z.string(),
  /** The node that serves or copies it. */
  node: z.string(),
  jobId: z.string(),
  vmName: z.string(),
  mode: z.enum(["export", "copy"]),
  status: restoreStatusSchema,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  requestedBy: z.string().nullable(),
  error: z.string().nullable(),
  disks: z.array(restoreDiskView),
});

export const restorePage = z.object({ items: z.array(restoreView), nextCursor: z.string().nullable() });

export const restorePointView = z.object({
  jobId: z.string(),
  vmName: z.string(),
  type: z.string(),
  completedAt: z.string(),
  verified: z.boolean(),
  disks: z.array(
    z.object({
      diskId: z.string(),
      path: z.string(),
      chain: z.array(z.string()),
      virtualSize: z.number(),
      actualSize: z.number().nullable(),
    }),
  ),
});

export const restorePointList = z.object({ items: z.array(restorePointView) });

export const vmSummaryView = z.object({
  vmName: z.string(),
  disks: z.array(z.string()),
  restorePoints: z.number().int(),
  lastBackupAt: z.string(),
  lastStatus: z.string(),
  repositoryBytes: z.number(),
});

export const vmList = z.object({ items: z.array(vmSummaryView) });
