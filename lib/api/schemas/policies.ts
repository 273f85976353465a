// Request and answer schemas of /policies and /repository (docs/api.md "Policies", "Repository").
import { z } from "zod";
import { answerTime } from "./times";
import { nameSchema } from "@/lib/api/names";
import { SOURCE_FORMATS } from "@/lib/backup/source-format";

const count = (what: string) =>
  z
    .number({ error: `how many ${what} to keep (0 or more)` })
    .int("a whole number")
    .min(0, "0 or more")
    .max(10_000, "at most 10000");

const policyDisk = z
  .object({
    diskId: nameSchema.optional(),
    source: z.string({ error: "a disk image path under the sources directory, or an nbd:// URI" }).min(1).max(4096),
    format: z.enum(SOURCE_FORMATS, { error: 'either "raw" or "qcow2"' }).optional(),
    dirtyBitmap: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "a bitmap name (letters, digits, '.', '_', '-')")
      .optional(),
  })
  .strict();

const retention = z
  .object({
    keepLast: count("last points"),
    keepDaily: count("days"),
    keepWeekly: count("weeks"),
    keepMonthly: count("months"),
  })
  .strict();

const fields = {
  name: nameSchema,
  vmName: nameSchema,
  disks: z.array(policyDisk, { error: "a list of disks" }).min(1, "at least one disk").max(64, "at most 64 disks"),
  schedule: z
    .string({ error: "a cron expression: five fields, or six with seconds first" })
    .min(1, "a cron expression")
    .max(200),
  timezone: z.string({ error: "an IANA time zone such as Europe/Berlin or UTC" }).min(1).max(64),
  fullEvery: z
    .number({ error: "every how many runs a full backup is made (1: always)" })
    .int("a whole number")
    .min(1, "1 or more")
    .max(1000),
  retention,
  enabled: z.boolean({ error: "true or false" }),
  maxRunSeconds: z
    .number()
    .int("a whole number of seconds")
    .min(1)
    .max(30 * 86400)
    .nullable()
    .optional(),
  retries: z.number().int("a whole number").min(0).max(10).nullable().optional(),
};

function uniqueDiskIds(disks: { diskId?: string }[] | undefined, ctx: z.RefinementCtx) {
  const seen = new Set<string>();
  (disks ?? []).forEach((disk, index) => {
    const id = disk.diskId ?? `disk${index}`;
    if (seen.has(id)) {
      ctx.addIssue({ code: "custom", path: ["disks", index, "diskId"], message: `duplicate disk id "${id}"` });
    }
    seen.add(id);
  });
}

/** No retention rule: every point is kept. */
const NO_RULES = { keepLast: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 };

export const createPolicyBody = z
  .object({
    ...fields,
    timezone: fields.timezone.default("UTC"),
    fullEvery: fields.fullEvery.default(1),
    retention: retention
      .partial()
      .transform((r) => ({ ...NO_RULES, ...r }))
      .default(NO_RULES),
    enabled: fields.enabled.default(true),
  })
  .strict()
  .superRefine((b, ctx) => uniqueDiskIds(b.disks, ctx));

export const updatePolicyBody = z
  .object({ ...fields, retention: retention.partial() })
  .partial()
  .strict()
  .superRefine((b, ctx) => uniqueDiskIds(b.disks, ctx));

export const policyIdParams = z.object({ id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "a policy id") });

export const nextRunsQuery = z
  .object({
    schedule: z.string({ error: "a cron expression" }).min(1, "a cron expression").max(200),
    timezone: z.string().min(1).max(64).default("UTC"),
    count: z.coerce.number().int().min(1).max(20).default(5),
  })
  .strict();

export const repositoryHistoryQuery = z
  .object({ hours: z.coerce.number({ error: "hours, 1 to 720" }).int().min(1).max(720).default(24) })
  .strict();

export type CreatePolicyRequest = z.infer<typeof createPolicyBody>;

// ---- answers ----
// Built by lib/policy/store.ts and lib/stats/repository.ts; checked against the domain's types in
// lib/api/schema-contracts.ts, and described in the OpenAPI document (lib/api/openapi.ts).

export const policyRunView = z.object({
  at: answerTime,
  /** The schedule's slot; null for Run now. */
  slot: answerTime.nullable(),
  trigger: z.enum(["schedule", "manual"]),
  status: z.enum(["starting", "started", "skipped", "failed_to_start"]),
  reason: z.string().nullable(),
  jobId: z.string().nullable(),
  jobType: z.string().nullable(),
  /** The job's own status, when there is a job. */
  jobStatus: z.string().nullable(),
});

export const policyView = z.object({
  id: z.string(),
  name: z.string(),
  vmName: z.string(),
  disks: z.array(
    z.object({
      diskId: z.string().optional(),
      source: z.string(),
      format: z.enum(SOURCE_FORMATS).optional(),
      dirtyBitmap: z.string().optional(),
    }),
  ),
  schedule: z.string(),
  timezone: z.string(),
  fullEvery: z.number().int(),
  retention: z.object({
    keepLast: z.number().int(),
    keepDaily: z.number().int(),
    keepWeekly: z.number().int(),
    keepMonthly: z.number().int(),
  }),
  enabled: z.boolean(),
  maxRunSeconds: z.number().int().nullable(),
  retries: z.number().int().nullable(),
  nextRunAt: answerTime.nullable(),
  lastRunAt: answerTime.nullable(),
  lastJobId: z.string().nullable(),
  lastRun: policyRunView.nullable(),
  createdAt: answerTime,
});

export const policyList = z.object({ items: z.array(policyView) });
export const policyRunList = z.object({ items: z.array(policyRunView) });

/** A node holding points of the VM that were left alone (lost, busy, no answer), and why. */
const pruneSkipped = z.object({ node: z.string(), code: z.string(), reason: z.string() });

export const prunePreviewView = z.object({
  keep: z.array(z.object({ jobId: z.string(), reasons: z.array(z.string()), node: z.string() })),
  remove: z.array(z.object({ jobId: z.string(), reason: z.string(), node: z.string() })),
  /** Removed points whose data goes into a kept point. */
  merged: z.array(z.string()),
  skipped: z.array(pruneSkipped),
});

export const pruneResultView = z.object({
  removed: z.array(z.string()),
  merged: z.array(z.string()),
  skipped: z.array(pruneSkipped),
});

/** DELETE of a policy or a notification. */
export const deletedView = z.object({ deleted: z.string() });

export const nextRunsView = z.object({ nextRuns: z.array(answerTime) });

export const repositoryView = z.object({
  path: z.string(),
  totalBytes: z.number(),
  freeBytes: z.number(),
  usedByBackups: z.number(),
  reserveBytes: z.number(),
  vms: z.array(z.object({ vmName: z.string(), bytes: z.number(), restorePoints: z.number().int() })),
});

export const repositoryHistoryView = z.object({
  points: z.array(
    z.object({ at: answerTime, totalBytes: z.number(), freeBytes: z.number(), usedByBackups: z.number() }),
  ),
});
