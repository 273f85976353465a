// API tokens for automation and external backup clients. The secret is `nbdh_` + 256 random
// bits, shown once at creation; only its SHA-256 is stored, so neither the database nor an
// API answer can give it back. A token belongs to its maker and works only while the maker
// does (token-standing.ts): disabling, demoting or deleting a user ends or narrows the tokens
// they made, at once.
import "server-only";
import { randomBytes, randomUUID } from "node:crypto";
import type { ApiToken, Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { prismaCode } from "@/lib/db/prisma-code";
import { DomainError, notFound } from "@/lib/errors";
import type { Actor } from "./actor";
import { roleOf, type Role } from "./roles";
import { sha256Hex } from "./hash";
import {
  BOOTSTRAP_CREATOR,
  isBootstrapRoot,
  tokenStanding,
  type MakerUser,
  type Standing,
  type TokenLink,
  type TokenLoader,
} from "./token-standing";
import type { CreatedTokenView, TokenView } from "./types";

export { BOOTSTRAP_CREATOR };
const TOKEN_PREFIX = "nbdh_";
/** lastUsedAt is written at most this often, not on every request. */
const TOUCH_EVERY_MS = 60_000;

function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

function toTokenView(row: ApiToken, standing: Standing): TokenView {
  return {
    id: row.id,
    name: row.name,
    role: roleOf(row.role),
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    createdByUserId: row.createdByUserId,
    effectiveRole: standing.role,
    refusedBecause: standing.refusedBecause,
  };
}

/** Reads makers from the database, each at most once per question. */
function databaseLoader(db: Db): TokenLoader {
  const users = new Map<string, Promise<MakerUser | null>>();
  const tokens = new Map<string, Promise<TokenLink | null>>();
  return {
    user(id) {
      let found = users.get(id);
      if (!found) {
        found = db.user.findUnique({ where: { id }, select: { username: true, role: true, disabled: true } });
        users.set(id, found);
      }
      return found;
    },
    token(id) {
      let found = tokens.get(id);
      if (!found) {
        found = db.apiToken.findUnique({ where: { id } });
        tokens.set(id, found);
      }
      return found;
    },
  };
}

type Maker = { createdByUserId: string | null; createdByTokenId: string | null };

/** Who makes a token: the signed-in user, or the token in use (and the user behind it). */
async function makerOf(db: Db, actor: Actor): Promise<Maker> {
  if (actor.kind === "user") return { createdByUserId: actor.id, createdByTokenId: null };
  if (actor.kind === "token") {
    const parent = await db.apiToken.findUnique({ where: { id: actor.id }, select: { createdByUserId: true } });
    return { createdByUserId: parent?.createdByUserId ?? null, createdByTokenId: actor.id };
  }
  throw new DomainError("unauthenticated", "unauthenticated", "only a signed-in user or an API token can make a token");
}

export async function createToken(
  db: Db,
  input: { name: string; role: Role; maker: Actor },
): Promise<CreatedTokenView> {
  const secret = generateTokenSecret();
  const maker = await makerOf(db, input.maker);
  const row = await db.apiToken.create({
    data: {
      id: randomUUID(),
      name: input.name,
      role: input.role,
      createdBy: input.maker.name,
      ...maker,
      tokenHash: sha256Hex(secret),
    },
  });
  const standing = await tokenStanding(row, databaseLoader(db));
  return { ...toTokenView(row, standing), token: secret };
}

export async function listTokens(db: Db): Promise<TokenView[]> {
  const [rows, users] = await Promise.all([
    db.apiToken.findMany({ orderBy: [{ revokedAt: { sort: "desc", nulls: "first" } }, { createdAt: "desc" }] }),
    db.user.findMany({ select: { id: true, username: true, role: true, disabled: true } }),
  ]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const usersById = new Map(users.map((u) => [u.id, u]));
  const loader: TokenLoader = {
    user: (id) => usersById.get(id) ?? null,
    token: (id) => byId.get(id) ?? null,
  };
  return Promise.all(rows.map(async (row) => toTokenView(row, await tokenStanding(row, loader))));
}

/** Revoke at once; revoking a revoked token answers the same (idempotent). */
export async function revokeToken(db: Db, id: string): Promise<TokenView> {
  try {
    await db.apiToken.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
    const row = await db.apiToken.findUniqueOrThrow({ where: { id } });
    return toTokenView(row, await tokenStanding(row, databaseLoader(db)));
  } catch (error) {
    if (prismaCode(error) === "P2025") throw notFound(`token ${id}`);
    throw error;
  }
}

/** The live token for a presented secret and the role it has now, or null (refused). */
export async function resolveBearer(db: Db, presented: string): Promise<{ token: ApiToken; role: Role } | null> {
  // Anything this short or long was never one of ours; do not spend a query on it.
  if (presented.length < 32 || presented.length > 512) return null;
  const row = await db.apiToken.findUnique({ where: { tokenHash: sha256Hex(presented) } });
  if (!row) return null;
  const standing = await tokenStanding(row, databaseLoader(db));
  if (!standing.role) return null;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
    await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  }
  return { token: row, role: standing.role };
}

/**
 * Make the NBDHUB_BOOTSTRAP_TOKEN value a live admin token (idempotent across restarts: upsert
 * by hash). A different earlier value is revoked, so changing the variable rotates the token.
 * A value whose token was revoked stays revoked: the revocation is someone's decision, and
 * only a new value (a new hash) makes a working bootstrap token again. Never logs the value.
 */
export async function ensureBootstrapToken(db: Db, value: string, log: Logger): Promise<void> {
  const tokenHash = sha256Hex(value);
  let row = await db.apiToken.findUnique({ where: { tokenHash } });
  if (!row) {
    try {
      row = await db.apiToken.create({
        data: { id: randomUUID(), name: "bootstrap", tokenHash, role: "admin", createdBy: BOOTSTRAP_CREATOR },
      });
    } catch (error) {
      // Two processes starting on one database may both insert: the other one's row is as good.
      if (prismaCode(error) !== "P2002") throw error;
      row = await db.apiToken.findUniqueOrThrow({ where: { tokenHash } });
    }
  }
  // A different earlier value is retired: changing the variable rotates the token.
  await db.apiToken.updateMany({
    where: {
      createdBy: BOOTSTRAP_CREATOR,
      createdByUserId: null,
      createdByTokenId: null,
      tokenHash: { not: tokenHash },
      revokedAt: null,
    },
    data: { revokedAt: new Date() },
  });
  if (row.revokedAt) {
    log.warn(
      "the NBDHUB_BOOTSTRAP_TOKEN token was revoked and stays revoked; " +
        "set a new value to get a working bootstrap token",
    );
  } else if (row.role !== "admin" || !isBootstrapRoot(row)) {
    // The value happens to be an ordinary token's secret: do not turn that token into an admin.
    log.warn("NBDHUB_BOOTSTRAP_TOKEN is the secret of an ordinary API token; it is not made a bootstrap token");
  } else {
    log.info("bootstrap admin token present (NBDHUB_BOOTSTRAP_TOKEN)");
  }
}

/** Deleting a user ends every token they made (the rows stay, revoked, for the record). */
export async function revokeTokensOfUser(db: Db | Prisma.TransactionClient, userId: string): Promise<number> {
  const { count } = await db.apiToken.updateMany({
    where: { createdByUserId: userId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return count;
}
