// Request schemas of /notifications (docs/api.md "Repository and notifications").
import { z } from "zod";
import { answerTime } from "./times";

export const createNotificationBody = z
  .object({
    name: z.string({ error: "a name for people" }).min(1, "a name").max(128, "at most 128 characters"),
    url: z
      .string({ error: "the webhook's http:// or https:// URL" })
      .max(2048, "at most 2048 characters")
      .refine((v) => /^https?:\/\//i.test(v), "an http:// or https:// URL"),
    kind: z.enum(["webhook", "slack"], { error: 'either "webhook" or "slack"' }),
    on: z
      .array(z.enum(["failed", "completed", "stale_vm"], { error: 'one of "failed", "completed", "stale_vm"' }))
      .min(1, "at least one event"),
    staleAfterHours: z
      .number({ error: "hours (a number above 0)" })
      .positive("above 0")
      .max(24 * 365)
      .optional(),
  })
  .strict();

/** PATCH: any of the fields; a `url` replaces the stored one. */
export const updateNotificationBody = createNotificationBody
  .partial()
  .refine((v) => Object.keys(v).length > 0, "at least one field to change");

export const notificationIdParams = z.object({ id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, "a notification id") });

// ---- answers ---- (lib/notify/store.ts; checked in lib/api/schema-contracts.ts)

export const notificationView = z.object({
  id: z.string(),
  name: z.string(),
  /** Masked: scheme and host, then "/…". */
  url: z.string(),
  kind: z.enum(["webhook", "slack"]),
  on: z.array(z.enum(["failed", "completed", "stale_vm"])),
  staleAfterHours: z.number().nullable(),
  createdAt: answerTime,
  createdBy: z.string().nullable(),
});

export const notificationList = z.object({ items: z.array(notificationView) });

export const deliveryView = z.object({
  id: z.string(),
  event: z.string(),
  status: z.enum(["pending", "delivered", "failed"]),
  attempts: z.number().int(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  nextAttemptAt: answerTime.nullable(),
  createdAt: answerTime,
  deliveredAt: answerTime.nullable(),
});

export const deliveryList = z.object({ items: z.array(deliveryView) });
