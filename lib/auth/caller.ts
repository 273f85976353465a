// Who sent this request: an `Authorization: Bearer` API token, or the session cookie. A Bearer
// header, when present, is the only credential looked at (a bad one is not rescued by a cookie).
import "server-only";
import type { NextRequest } from "next/server";
import type { Db } from "@/lib/db/prisma";
import { ANONYMOUS, tokenActorName, type Actor } from "./actor";
import { SESSION_COOKIE } from "./cookie";
import { isRole } from "./roles";
import { sessionSecret } from "./session-secret";
import { resolveSession } from "./sessions";
import { resolveBearer } from "./tokens";

export type Caller = {
  actor: Actor;
  via: "token" | "session" | "none";
  /** A credential was sent but is not (or no longer) valid. */
  rejected?: "token" | "session";
};

export function bearerOf(req: NextRequest): string | undefined {
  const header = req.headers.get("authorization");
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : "";
}

export async function resolveCaller(req: NextRequest, deps: { db: Db; dataDir: string }): Promise<Caller> {
  const bearer = bearerOf(req);
  if (bearer !== undefined) {
    const resolved = bearer ? await resolveBearer(deps.db, bearer) : null;
    if (!resolved) return { actor: ANONYMOUS, via: "none", rejected: "token" };
    // The role it has now: its own, capped by its maker's current role (token-standing.ts).
    const { token, role } = resolved;
    return { actor: { kind: "token", id: token.id, name: tokenActorName(token.name), role }, via: "token" };
  }
  const cookie = req.cookies.get(SESSION_COOKIE)?.value;
  if (!cookie) return { actor: ANONYMOUS, via: "none" };
  const session = await resolveSession(deps.db, await sessionSecret(deps.dataDir), cookie);
  if (!session || !isRole(session.user.role)) return { actor: ANONYMOUS, via: "none", rejected: "session" };
  return {
    actor: {
      kind: "user",
      id: session.user.id,
      name: session.user.username,
      role: session.user.role,
      sessionId: session.sessionId,
    },
    via: "session",
  };
}
