// The audit trail: who did what to which target, allowed / denied / failed, when, from where.
// The route wrapper writes one row for every state-changing request; admins read it with
// GET /api/v1/audit. Rows never hold a secret: details pass through redact() first.
import "server-only";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "@/lib/db/prisma";
import type { AuditEventView, AuditFilter, AuditPage } from "./types";

const AUDIT_RESULTS = ["allowed", "denied", "failed"] as const;
export type AuditResult = (typeof AUDIT_RESULTS)[number];

/** A result read from a row; anything else is a damaged row. */
function resultOf(value: string): AuditResult {
  const known = AUDIT_RESULTS.find((r) => r === value);
  if (!known) throw new Error(`not an audit result: ${JSON.stringify(value)}`);
  return known;
}

export type AuditEntry = {
  actor: string;
  action: string;
  target?: string;
  result: AuditResult;
  status?: number;
  clientIp?: string;
  details?: Record<string, unknown>;
  /** When it happened; a row written late (after a database outage) keeps its own time. */
  at?: Date;
};

/**
 * What a handler may add to its request's audit row (ctx.audit): a precise target, the
 * actor when the request itself establishes it (sign-in), details. `recorded` means the
 * handler already wrote the row itself.
 */
export type AuditNote = { actor?: string; target?: string; details?: Record<string, unknown>; recorded?: boolean };

/** 401, 403 and 429 are refusals of the caller; any other 4xx/5xx is a request that failed. */
export function auditResultOf(status: number): AuditResult {
  if (status < 400) return "allowed";
  if (status === 401 || status === 403 || status === 429) return "denied";
  return "failed";
}

const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|hash/i;

/** Drop anything that looks like a secret, at any depth: the trail is read by people. */
function redact(value: unknown, depth = 0): unknown {
  if (depth > 4) return undefined;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEY.test(k)) continue;
      out[k] = redact(v, depth + 1);
    }
    return out;
  }
  if (typeof value === "string") return value.slice(0, 500);
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** The row as stored: fields capped, details redacted (with the HTTP status folded in). */
export function auditRowData(entry: AuditEntry): Prisma.AuditEventCreateInput {
  const details = redact({
    ...(entry.details ?? {}),
    ...(entry.status !== undefined ? { status: entry.status } : {}),
  }) as Prisma.InputJsonObject;
  return {
    ...(entry.at ? { at: entry.at } : {}),
    actor: entry.actor.slice(0, 200),
    action: entry.action.slice(0, 200),
    target: entry.target?.slice(0, 500) ?? null,
    result: entry.result,
    clientIp: entry.clientIp?.slice(0, 100) ?? null,
    details,
  };
}

/** Write one row and return its id; throws what the database throws. */
export async function writeAuditRow(db: Db, entry: AuditEntry): Promise<bigint> {
  const row = await db.auditEvent.create({ data: auditRowData(entry), select: { id: true } });
  return row.id;
}

function toView(row: {
  id: bigint;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  result: string;
  clientIp: string | null;
  details: Prisma.JsonValue;
}): AuditEventView {
  const details =
    row.details && typeof row.details === "object" && !Array.isArray(row.details)
      ? (row.details as Record<string, unknown>)
      : null;
  const status = typeof details?.status === "number" ? details.status : null;
  return {
    id: row.id.toString(),
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action,
    target: row.target,
    result: resultOf(row.result),
    status,
    clientIp: row.clientIp,
    details: details ? { ...details } : null,
  };
}

/** Newest first, filtered; `cursor` is the id of the last row of the previous page. */
export async function listAudit(db: Db, q: AuditFilter): Promise<AuditPage> {
  const where: Prisma.AuditEventWhereInput = {
    ...(q.actor ? { actor: { contains: q.actor, mode: "insensitive" } } : {}),
    // "backup." finds backup.start and backup.cancel; a full name finds just that action.
    ...(q.action ? { action: { startsWith: q.action } } : {}),
    ...(q.target ? { target: { contains: q.target, mode: "insensitive" } } : {}),
    ...(q.result ? { result: q.result } : {}),
    ...(q.from || q.to
      ? { at: { ...(q.from ? { gte: new Date(q.from) } : {}), ...(q.to ? { lte: new Date(q.to) } : {}) } }
      : {}),
    ...(q.cursor ? { id: { lt: BigInt(q.cursor) } } : {}),
  };
  const rows = await db.auditEvent.findMany({ where, orderBy: { id: "desc" }, take: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return { items: page.map(toView), nextCursor: rows.length > q.limit ? page[page.length - 1].id.toString() : null };
}
