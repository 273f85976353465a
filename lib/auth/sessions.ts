// Browser sessions. The cookie holds a random session id sealed by iron-session (encrypted
// and authenticated); the database holds only the id's SHA-256 in `sessions`, so a session
// can expire, idle out and be revoked on the server at once, and a database leak gives no
// cookie that works.
import "server-only";
import { randomBytes } from "node:crypto";
import { sealData, unsealData } from "iron-session";
import type { NextRequest, NextResponse } from "next/server";
import { z } from "zod";
import type { Db } from "@/lib/db/prisma";
import { SESSION_COOKIE } from "./cookie";
import { sha256Hex } from "./hash";

/** A session lasts at most this long, however busy. */
const SESSION_TTL_SECONDS = 12 * 60 * 60;
/** …and ends sooner when unused this long. */
const SESSION_IDLE_SECONDS = 2 * 60 * 60;
/** lastSeenAt is written at most this often, not on every request. */
const TOUCH_EVERY_MS = 60_000;

const sealed = z.object({ sid: z.string().min(32).max(128) });

export type SessionUser = { id: string; username: string; role: string; disabled: boolean };
export type ResolvedSession = { sessionId: string; user: SessionUser };

export async function createSession(
  db: Db,
  secret: string,
  userId: string,
): Promise<{ cookie: string; expiresAt: Date }> {
  const sid = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + SESSION_TTL_SECONDS * 1000);
  await db.session.create({ data: { id: sha256Hex(sid), userId, expiresAt } });
  await db.user.update({ where: { id: userId }, data: { lastLoginAt: new Date() } });
  const cookie = await sealData({ sid }, { password: secret, ttl: SESSION_TTL_SECONDS });
  return { cookie, expiresAt };
}

/** The live session behind a cookie value, or null (bad seal, unknown, expired, idle, revoked, user disabled). */
export async function resolveSession(db: Db, secret: string, cookie: string): Promise<ResolvedSession | null> {
  if (cookie.length > 4096) return null;
  let data: unknown;
  try {
    data = await unsealData(cookie, { password: secret, ttl: SESSION_TTL_SECONDS });
  } catch {
    return null;
  }
  const parsed = sealed.safeParse(data);
  if (!parsed.success) return null;
  const id = sha256Hex(parsed.data.sid);
  const row = await db.session.findUnique({ where: { id }, include: { user: true } });
  const now = Date.now();
  if (!row || row.revokedAt || row.expiresAt.getTime() <= now || row.user.disabled) return null;
  if (row.lastSeenAt.getTime() + SESSION_IDLE_SECONDS * 1000 <= now) return null;
  if (now - row.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    await db.session.update({ where: { id }, data: { lastSeenAt: new Date(now) } });
  }
  const { user } = row;
  return { sessionId: id, user: { id: user.id, username: user.username, role: user.role, disabled: user.disabled } };
}

export async function revokeSession(db: Db, sessionId: string): Promise<void> {
  await db.session.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: new Date() } });
}

/** Sign a user out everywhere (disabled, password reset, deleted). */
export async function revokeUserSessions(db: Db, userId: string): Promise<number> {
  const { count } = await db.session.updateMany({
    where: { userId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return count;
}

/** Secure only over https: a Secure cookie set over plain http is dropped by the browser. */
function servedOverHttps(req: NextRequest): boolean {
  const proto = req.headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
  return proto ? proto === "https" : req.nextUrl.protocol === "https:";
}

export function setSessionCookie(res: NextResponse, req: NextRequest, value: string): void {
  res.cookies.set(SESSION_COOKIE, value, {
    httpOnly: true,
    // Lax: a link from elsewhere still opens the console signed in; cross-site POSTs carry no
    // cookie, and the wrapper's Origin check refuses them anyway.
    sameSite: "lax",
    secure: servedOverHttps(req),
    path: "/",
    maxAge: SESSION_TTL_SECONDS,
  });
}

export function clearSessionCookie(res: NextResponse, req: NextRequest): void {
  res.cookies.set(SESSION_COOKIE, "", {
    httpOnly: true,
    sameSite: "lax",
    secure: servedOverHttps(req),
    path: "/",
    maxAge: 0,
  });
}
