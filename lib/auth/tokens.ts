// API tokens for automation and external backup clients. The secret is `nbdh_` + 256 random
// bits, shown once at creation; only its SHA-256 is stored, so neither the database nor an
// API answer can give it back.
import "server-only";
import { randomBytes, randomUUID } from "node:crypto";
import type { ApiToken } from "@/lib/generated/prisma/client";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { ApiError, notFound, prismaCode } from "@/lib/api/errors";
import { tokenView, createdTokenView, type CreatedTokenView, type TokenView } from "@/lib/api/schemas/auth";
import type { Role } from "./roles";
import { sha256Hex } from "./hash";

export const TOKEN_PREFIX = "nbdh_";
/** createdBy of the token that NBDHUB_BOOTSTRAP_TOKEN makes; lets a changed value retire the old one. */
export const BOOTSTRAP_CREATOR = "NBDHUB_BOOTSTRAP_TOKEN";
/** lastUsedAt is written at most this often, not on every request. */
const TOUCH_EVERY_MS = 60_000;

export function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

export function toTokenView(row: ApiToken): TokenView {
  return tokenView.parse({
    id: row.id,
    name: row.name,
    role: row.role,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  });
}

export async function createToken(db: Db, input: { name: string; role: Role; createdBy: string }): Promise<CreatedTokenView> {
  const secret = generateTokenSecret();
  const row = await db.apiToken.create({
    data: { id: randomUUID(), name: input.name, role: input.role, createdBy: input.createdBy, tokenHash: sha256Hex(secret) },
  });
  return createdTokenView.parse({ ...toTokenView(row), token: secret });
}

export async function listTokens(db: Db): Promise<TokenView[]> {
  const rows = await db.apiToken.findMany({ orderBy: [{ revokedAt: { sort: "desc", nulls: "first" } }, { createdAt: "desc" }] });
  return rows.map(toTokenView);
}

/** Revoke at once; revoking a revoked token answers the same (idempotent). */
export async function revokeToken(db: Db, id: string): Promise<TokenView> {
  try {
    await db.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
    return toTokenView(await db.apiToken.findUniqueOrThrow({ where: { id } }));
  } catch (error) {
    if (prismaCode(error) === "P2025") throw notFound(`token ${id}`);
    throw error;
  }
}

/** The live token for a presented secret, or null. */
export async function resolveBearer(db: Db, presented: string): Promise<ApiToken | null> {
  // Anything this short or long was never one of ours; do not spend a query on it.
  if (presented.length < 32 || presented.length > 512) return null;
  const row = await db.apiToken.findUnique({ where: { tokenHash: sha256Hex(presented) } });
  if (!row || row.revokedAt) return null;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
    await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  }
  return row;
}

/**
 * Make the NBDHUB_BOOTSTRAP_TOKEN value a live admin token (idempotent across restarts: upsert
 * by hash). A different earlier value is revoked, so changing the variable rotates the token.
 * The value itself is never logged.
 */
export async function ensureBootstrapToken(db: Db, value: string, log: Logger): Promise<void> {
  const tokenHash = sha256Hex(value);
  const existing = await db.apiToken.findUnique({ where: { tokenHash } });
  if (existing?.revokedAt) {
    // The variable is the operator's standing instruction; say so, since it undoes a revoke.
    log.warn("the NBDHUB_BOOTSTRAP_TOKEN token had been revoked and is enabled again because the variable is still set; unset it to retire the token");
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await db.$transaction([
        db.apiToken.upsert({
          where: { tokenHash },
          create: { id: randomUUID(), name: "bootstrap", tokenHash, role: "admin", createdBy: BOOTSTRAP_CREATOR },
          update: { role: "admin", revokedAt: null },
        }),
        db.apiToken.updateMany({
          where: { createdBy: BOOTSTRAP_CREATOR, tokenHash: { not: tokenHash }, revokedAt: null },
          data: { revokedAt: new Date() },
        }),
      ]);
      break;
    } catch (error) {
      // Two processes starting on one database may both try the insert; the loser retries as update.
      if (prismaCode(error) !== "P2002" || attempt > 0) throw error;
    }
  }
  log.info(existing ? "bootstrap admin token present (NBDHUB_BOOTSTRAP_TOKEN)" : "bootstrap admin token created (NBDHUB_BOOTSTRAP_TOKEN)");
}

export function tokenNotValid(): ApiError {
  return new ApiError("unauthenticated", 401, "the API token is not valid or was revoked");
}
