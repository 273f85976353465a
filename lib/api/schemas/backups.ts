// Request schemas of the backup routes (docs/api.md "Backup jobs"); shared with the console.
import { z } from "zod";
import { nameSchema } from "@/lib/api/names";
import { SOURCE_FORMATS } from "@/lib/backup/source-format";

const TiB = 1024 ** 4;

export const jobStatusSchema = z.enum(["queued", "running", "completed", "failed", "cancelled"]);
export const diskStatusSchema = z.enum(["pending", "exporting", "transferring", "verifying", "completed", "failed", "cancelled"]);

const builtinDisk = z.object({
  diskId: nameSchema.optional(),
  source: z.string({ error: "a disk image path under the sources directory, or an nbd:// URI" }).min(1, "a disk image path or an nbd:// URI").max(4096, "at most 4096 characters"),
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
const base = {
  vmName: nameSchema,
  type: z.enum(["full", "incremental"], { error: 'either "full" or "incremental"' }),
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

function uniqueDiskIds(disks: { diskId?: string }[], ctx: z.RefinementCtx) {
  const seen = new Map<string, number>();
  disks.forEach((disk, index) => {
    const id = disk.diskId ?? `disk${index}`;
    if (seen.has(id)) ctx.addIssue({ code: "custom", path: ["disks", index, "diskId"], message: `duplicate disk id "${id}" (also disk ${seen.get(id)})` });
    else seen.set(id, index);
  });
}

export const startBackupSchema = z
  .discriminatedUnion("mover", [
    z.object({ ...base, retries: retries.optional(), mover: z.literal("builtin"), disks: z.array(builtinDisk, { error: "a list of disks" }).min(1, "at least one disk").max(64, "at most 64 disks") }).strict(),
    z.object({ ...base, retries: externalRetries.optional(), mover: z.literal("external"), disks: z.array(externalDisk, { error: "a list of disks" }).min(1, "at least one disk").max(64, "at most 64 disks") }).strict(),
  ], { error: 'mover must be "builtin" or "external"' })
  .superRefine((body, ctx) => uniqueDiskIds(body.disks, ctx));

/** `mover` defaults to "builtin" before the discriminated union sees the body. */
export const startBackupBody = z.preprocess(
  (value) => (value && typeof value === "object" && !Array.isArray(value) && !("mover" in value) ? { ...value, mover: "builtin" } : value),
  startBackupSchema,
);
export type StartBackupRequest = z.infer<typeof startBackupSchema>;

export const listBackupsQuery = z
  .object({
    status: jobStatusSchema.optional(),
    vmName: nameSchema.optional(),
    /** Jobs of every VM whose name starts with this (the console's filter). */
    vmNamePrefix: nameSchema.optional(),
    limit: z.coerce.number({ error: "a number from 1 to 200" }).int("a whole number").min(1, "at least 1").max(200, "at most 200").default(50),
    cursor: z.string().max(200).optional(),
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

export const failBody = z.object({ message: z.string({ error: "why the backup failed" }).min(1, "why the backup failed").max(2000, "at most 2000 characters") }).strict();
