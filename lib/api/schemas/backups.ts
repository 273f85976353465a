// Schemas of the backup routes (docs/api.md "Backup jobs"): the requests they parse and the
// answers they give (BackupJob, BackupDisk, JobEvent). Pure zod, shared with the console.
import { z } from "zod";
import { answerTime as isoTime } from "./times";
import { nameSchema } from "@/lib/api/names";
import { exportTlsKeySchema, nodeNameSchema } from "./nbd";
import { pageCursorSchema, pageLimitSchema } from "./paging";
import { SOURCE_FORMATS } from "@/lib/backup/source-format";

const TiB = 1024 ** 4;

export const jobStatusSchema = z.enum(["queued", "running", "completed", "failed", "cancelled"]);
const diskStatusSchema = z.enum([
  "pending",
  "exporting",
  "transferring",
  "verifying",
  "completed",
  "failed",
  "cancelled",
]);

const builtinDisk = z.object({
  diskId: nameSchema.optional(),
  source: z
    .string({ error: "a disk image path under the sources directory, or an nbd:// URI" })
    .min(1, "a disk image path or an nbd:// URI")
    .max(4096, "at most 4096 characters"),
  // Without it the name decides: `.qcow2` is qcow2, anything else raw. Never probed.
  format: z.enum(SOURCE_FORMATS, { error: 'either "raw" or "qcow2"' }).optional(),
  // NBD sources only (a file source is refused with 422): the export's qemu:dirty-bitmap:NAME.
  dirtyBitmap: z
    .string({ error: "the name of the NBD source's dirty bitmap" })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$/, "letters, digits, '.', '_' and '-' (at most 127)")
    .optional(),
});

const externalDisk = z.object({
  diskId: nameSchema.optional(),
  sizeBytes: z
    .number({ error: "the disk's size in bytes" })
    .int("a whole number of bytes")
    .min(512, "at least 512 bytes")
    .max(64 * TiB, "at most 64 TiB"),
});

const DAY = 86400;
export const backupTypeSchema = z.enum(["full", "incremental"], { error: 'either "full" or "incremental"' });

const base = {
  vmName: nameSchema,
  type: backupTypeSchema,
  // The node to run on (decision 032); without it the hub places the job.
  node: nodeNameSchema.optional(),
  // No limit when left out; past it the job fails ("ran past its time limit").
  maxRunSeconds: z
    .number({ error: "seconds the job may run" })
    .int("a whole number of seconds")
    .min(1, "at least 1 second")
    .max(14 * DAY, "at most 14 days (1209600 seconds)")
    .optional(),
};
/** A failed disk copy is tried again this many times (built-in mover; 0 when left out). */
const retries = z
  .number({ error: "how many times a failed disk copy is tried again" })
  .int("a whole number")
  .min(0, "not negative")
  .max(10, "at most 10");
/** The backup client copies an external job's disks: the hub has nothing to retry. */
const externalRetries = z.literal(0, { error: "retries apply to the built-in mover only: 0 or leave it out" });

/** A job's disks: 1 to 64 of them. */
const diskList = <Disk extends z.ZodType>(disk: Disk) =>
  z.array(disk, { error: "a list of disks" }).min(1, "at least one disk").max(64, "at most 64 disks");

function uniqueDiskIds(disks: { diskId?: string }[], ctx: z.RefinementCtx) {
  const seen = new Map<string, number>();
  disks.forEach((disk, index) => {
    const id = disk.diskId ?? `disk${index}`;
    if (seen.has(id))
      ctx.addIssue({
        code: "custom",
        path: ["disks", index, "diskId"],
        message: `duplicate disk id "${id}" (also disk ${seen.get(id)})`,
      });
    else seen.set(id, index);
  });
}

export const startBackupSchema = z
  .discriminatedUnion(
    "mover",
    [
      z
        .object({
          ...base,
          retries: retries.optional(),
          mover: z.literal("builtin"),
          disks: diskList(builtinDisk),
        })
        .strict(),
      z
        .object({
          ...base,
          retries: externalRetries.optional(),
          mover: z.literal("external"),
          disks: diskList(externalDisk),
        })
        .strict(),
    ],
    { error: 'mover must be "builtin" or "external"' },
  )
  .superRefine((body, ctx) => uniqueDiskIds(body.disks, ctx));

/** `mover` defaults to "builtin" before the discriminated union sees the body. */
export const startBackupBody = z.preprocess(
  (value) =>
    value && typeof value === "object" && !Array.isArray(value) && !("mover" in value)
      ? { ...value, mover: "builtin" }
      : value,
  startBackupSchema,
);
export type StartBackupRequest = z.infer<typeof startBackupSchema>;

export const listBackupsQuery = z
  .object({
    status: jobStatusSchema.optional(),
    vmName: nameSchema.optional(),
    /** Jobs of every VM whose name starts with this (the console's filter). */
    vmNamePrefix: nameSchema.optional(),
    /** Jobs of this node only (docs/api.md "Nodes"). */
    node: nodeNameSchema.optional(),
    limit: pageLimitSchema,
    cursor: pageCursorSchema,
    from: z.iso.datetime({ offset: true, error: "an ISO-8601 time" }).optional(),
    to: z.iso.datetime({ offset: true, error: "an ISO-8601 time" }).optional(),
  })
  .strict();

/** GET /backups/plan: what one disk would get if a backup started now. */
export const planQuery = z
  .object({
    vmName: nameSchema,
    type: z.enum(["full", "incremental"], { error: 'either "full" or "incremental"' }),
    source: builtinDisk.shape.source,
    diskId: nameSchema.optional(),
    format: builtinDisk.shape.format,
    dirtyBitmap: builtinDisk.shape.dirtyBitmap,
  })
  .strict();

export const jobIdParams = z.object({ id: nameSchema });
export const diskParams = z.object({ id: nameSchema, diskId: nameSchema });

export const progressBody = z
  .object({
    transferredBytes: z.number({ error: "bytes written so far" }).int("a whole number").min(0, "not negative"),
    totalBytes: z.number({ error: "the disk's size in bytes" }).int("a whole number").min(0, "not negative").optional(),
  })
  .strict();

export const completeBody = z
  .object({
    disks: z
      .array(z.object({ diskId: nameSchema, changeId: z.string().max(256).optional() }).strict())
      .min(1, "every disk of the job"),
  })
  .strict();

export const failBody = z
  .object({
    message: z
      .string({ error: "why the backup failed" })
      .min(1, "why the backup failed")
      .max(2000, "at most 2000 characters"),
  })
  .strict();

// ---- answers ----
// Built by lib/backup/serialize.ts from database rows; the console's types are inferred from them.

const byteCount = z.number().int().min(0);

export const moverSchema = z.enum(["builtin", "external"]);
export const eventLevelSchema = z.enum(["info", "warn", "error"]);

export const copyModeSchema = z.enum(["full", "changed-blocks", "content-diff"]);

export const backupDiskSchema = z.object({
  diskId: z.string(),
  /** A path under the sources root or an NBD URI; for an external disk, what its client said. */
  source: z.string(),
  /** How the source was opened (null on rows from before formats were recorded). */
  sourceFormat: z.enum(SOURCE_FORMATS).nullable(),
  targetPath: z.string().nullable(),
  /** The backup this incremental target stands on. */
  backingPath: z.string().nullable(),
  port: z.number().int().nullable(),
  exportName: z.string().nullable(),
  nbdUri: z.string().nullable(),
  pid: z.number().int().nullable(),
  status: diskStatusSchema,
  totalBytes: byteCount,
  transferredBytes: byteCount,
  bytesPerSecond: byteCount,
  etaSeconds: z.number().int().nullable(),
  /** Bytes the target takes on disk, once it completed. */
  actualSize: byteCount.nullable(),
  changeId: z.string().nullable(),
  error: z.string().nullable(),
  startedAt: isoTime.nullable(),
  finishedAt: isoTime.nullable(),
  /** The target was compared with its source (false: only checked, or not completed). */
  verified: z.boolean(),
  /** What the verification compared with what, once the disk completed; else null. */
  verification: z.string().nullable(),
  /** While the copy is stalled: when its progress last moved; else null. */
  stalledSince: isoTime.nullable(),
  /** Which try of the disk's copy this is (1 for the first). */
  attempt: z.number().int().min(1),
  /** How the disk was copied (decision 010); null for an external client's disk. */
  copyMode: copyModeSchema.nullable(),
  /** Why that mode, in a sentence (the plan, or the fallback that replaced it). */
  copyReason: z.string().nullable(),
  /** The job whose point an incremental builds on. */
  backingJobId: z.string().nullable(),
  /** Bytes the source reported changed or that were found different; null for a full copy. */
  changedBytes: byteCount.nullable(),
  /** The NBD source's dirty bitmap the request named. */
  dirtyBitmap: z.string().nullable(),
  /** While an incremental copies: what its progress counts (bytes to move, or to examine). */
  progressDoneBytes: byteCount.nullable(),
  progressTotalBytes: byteCount.nullable(),
  /** The export's TLS pre-shared key (NBDHUB_NBD_TLS=required): in the 202 of an external job only. */
  tls: exportTlsKeySchema.optional(),
});
export type BackupDisk = z.infer<typeof backupDiskSchema>;
export type CopyMode = z.infer<typeof copyModeSchema>;

/** GET /backups/plan: what one disk would get if a backup started now. */
export const copyPlanSchema = z.object({
  copyMode: copyModeSchema.nullable(),
  copyReason: z.string(),
  backingJobId: z.string().nullable(),
});
export type CopyPlanView = z.infer<typeof copyPlanSchema>;
export type DiskStatus = z.infer<typeof diskStatusSchema>;

export const backupJobSchema = z.object({
  id: z.string(),
  /** The node that runs the job. */
  node: z.string(),
  vmName: z.string(),
  type: backupTypeSchema,
  mover: moverSchema,
  status: jobStatusSchema,
  createdAt: isoTime,
  startedAt: isoTime.nullable(),
  finishedAt: isoTime.nullable(),
  requestedBy: z.string().nullable(),
  cancelledBy: z.string().nullable(),
  error: z.string().nullable(),
  totalBytes: byteCount,
  transferredBytes: byteCount,
  /** From start to end, or to now while it runs, in tenths of a second; null before it starts. */
  durationSeconds: z.number().min(0).nullable(),
  /** The average over durationSeconds; null before it starts. */
  bytesPerSecond: byteCount.nullable(),
  /** Every disk was compared with its source. */
  verified: z.boolean(),
  verification: z.string().nullable(),
  /** The job fails once it ran this long; null: no limit. */
  maxRunSeconds: z.number().int().nullable(),
  /** How many times a failed disk copy is tried again. */
  retries: z.number().int().min(0),
  /** In the order they were asked for. */
  disks: z.array(backupDiskSchema),
});
export type BackupJob = z.infer<typeof backupJobSchema>;
export type JobStatus = z.infer<typeof jobStatusSchema>;
export type BackupType = z.infer<typeof backupTypeSchema>;

/** One entry of a job's event log (its timeline), also sent as `log` on the job's event stream. */
export const jobEventSchema = z.object({
  id: z.number().int(),
  at: isoTime,
  level: eventLevelSchema,
  kind: z.string(),
  message: z.string(),
  diskId: z.string().nullable(),
});
export type JobEvent = z.infer<typeof jobEventSchema>;

/** GET /backups/{id}: the job with its event log, oldest first (at most 1000 entries). */
export const backupJobDetailSchema = backupJobSchema.extend({ events: z.array(jobEventSchema) });
export type BackupJobDetail = z.infer<typeof backupJobDetailSchema>;

/** GET /backups: newest first; `nextCursor` fetches the next page, null on the last one. */
export const backupPageSchema = z.object({ items: z.array(backupJobSchema), nextCursor: z.string().nullable() });
export type BackupPage = z.infer<typeof backupPageSchema>;
