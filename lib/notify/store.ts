// Notifications in Postgres. The URL is a secret (it often carries a token, as Slack's do):
// stored as given, because delivering needs it, but never logged, never put in an audit row,
// and never answered after creation: views show it masked (scheme, host, "/…").
import "server-only";
import { randomBytes } from "node:crypto";
import type { Db } from "@/lib/db/prisma";
import { invalidInput, notFound } from "@/lib/errors";
import type { Notification as Row, NotificationDelivery as DeliveryRow } from "@/lib/generated/prisma/client";
import { NOTIFY_EVENTS, type DeliveryView, type NotificationInput, type NotificationPatch } from "./types";
import type { NotificationView, NotifyEvent } from "./types";

/** Hours after the last good backup before "no good backup of VM X" is sent, unless given. */
export const DEFAULT_STALE_HOURS = 24;

export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return "…";
  }
}

/** http or https only, no user or password in it (they would be sent to every redirect's host). */
export function checkUrl(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "an http:// or https:// URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `an http:// or https:// URL, not ${u.protocol}`;
  if (u.username || u.password) return "a URL without a user name or password (put a token in the path or query)";
  return null;
}

function eventsOf(value: unknown): NotifyEvent[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is NotifyEvent => (NOTIFY_EVENTS as readonly unknown[]).includes(v));
}

export function notificationView(row: Row): NotificationView {
  return {
    id: row.id,
    name: row.name,
    url: maskUrl(row.url),
    kind: row.kind === "slack" ? "slack" : "webhook",
    on: eventsOf(row.events),
    staleAfterHours: row.staleAfterHours,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
  };
}

export function deliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: String(row.id),
    event: row.event,
    status: row.status === "delivered" || row.status === "failed" ? row.status : "pending",
    attempts: row.attempts,
    statusCode: row.statusCode,
    error: row.error,
    nextAttemptAt: row.status === "pending" && row.nextAttemptAt ? row.nextAttemptAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
    deliveredAt: row.deliveredAt ? row.deliveredAt.toISOString() : null,
  };
}

export async function listNotifications(db: Db): Promise<NotificationView[]> {
  return (await db.notification.findMany({ orderBy: { createdAt: "asc" } })).map(notificationView);
}

export async function notificationRow(db: Db, id: string): Promise<Row> {
  const row = await db.notification.findUnique({ where: { id } });
  if (!row) throw notFound(`notification ${id}`);
  return row;
}

/** "No good backup for N hours" needs an N: the default when the events include it. */
function staleHoursOf(on: NotifyEvent[], given: number | null): number | null {
  return on.includes("stale_vm") ? (given ?? DEFAULT_STALE_HOURS) : given;
}

export async function createNotification(db: Db, input: NotificationInput, by: string): Promise<NotificationView> {
  const problem = checkUrl(input.url);
  if (problem) throw invalidInput({ url: problem }, `url: ${problem}`);
  const row = await db.notification.create({
    data: {
      id: `ntf-${randomBytes(6).toString("hex")}`,
      name: input.name,
      url: input.url,
      kind: input.kind,
      events: [...new Set(input.on)],
      staleAfterHours: staleHoursOf(input.on, input.staleAfterHours ?? null),
      createdBy: by,
    },
  });
  return notificationView(row);
}

/** Change a notification; a URL given replaces the secret, one not given keeps it. */
export async function updateNotification(db: Db, id: string, patch: NotificationPatch): Promise<NotificationView> {
  const row = await notificationRow(db, id);
  if (patch.url !== undefined) {
    const problem = checkUrl(patch.url);
    if (problem) throw invalidInput({ url: problem }, `url: ${problem}`);
  }
  const on = patch.on ? [...new Set(patch.on)] : eventsOf(row.events);
  const updated = await db.notification.update({
    where: { id },
    data: {
      name: patch.name,
      url: patch.url,
      kind: patch.kind,
      events: patch.on ? on : undefined,
      staleAfterHours: staleHoursOf(on, patch.staleAfterHours ?? row.staleAfterHours),
    },
  });
  return notificationView(updated);
}

export async function deleteNotification(db: Db, id: string): Promise<{ deleted: string }> {
  const { count } = await db.notification.deleteMany({ where: { id } });
  if (count === 0) throw notFound(`notification ${id}`);
  return { deleted: id };
}

export async function listDeliveries(db: Db, id: string, limit = 50): Promise<{ items: DeliveryView[] }> {
  await notificationRow(db, id);
  const rows = await db.notificationDelivery.findMany({
    where: { notificationId: id },
    orderBy: { id: "desc" },
    take: limit,
  });
  return { items: rows.map(deliveryView) };
}
