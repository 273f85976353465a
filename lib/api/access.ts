// Who is calling, and may they? Enforced by the route wrapper for every route, so no route
// can forget it: an API token (Bearer) or the session cookie names the caller, the route's
// `access` names the lowest role that may call it, and cookie-borne state changes must come
// from this console's own pages (CSRF). Before any of that, the request must be addressed to
// a host name the console answers to (DNS rebinding, decision 009). See
// docs/decisions/005-access-control.md.
import "server-only";
import type { NextRequest } from "next/server";
import type { Runtime } from "@/lib/runtime/runtime";
import { ANONYMOUS, type Actor } from "@/lib/auth/actor";
import { resolveCaller, type Caller } from "@/lib/auth/caller";
import { isSafeMethod, originVerdict } from "@/lib/auth/csrf";
import { allowedHostsFromEnv, checkHost } from "@/lib/auth/host-check";
import { hasRole, ROLE_RANK, type Role } from "@/lib/auth/roles";
import { ApiError, isApiError, notReady } from "./errors";

export type { Actor, Role };
export { ROLE_RANK, ANONYMOUS };
export type Access = "public" | Role;

/** A refusal that still knows who was refused, for the audit trail. */
class AccessDenied extends ApiError {
  constructor(
    status: 401 | 403,
    message: string,
    public readonly actor: Actor,
  ) {
    super(status === 401 ? "unauthenticated" : "forbidden", status, message);
  }
}

/** Recognised by shape, like isApiError: a class can exist twice across Next's module graphs. */
export function isAccessDenied(error: unknown): error is AccessDenied {
  return isApiError(error) && (error.status === 401 || error.status === 403) && "actor" in error;
}

export async function authorize(req: NextRequest, runtime: Runtime | undefined, access: Access): Promise<Actor> {
  // proxy.ts checks pages; the API is checked here, for every route, health included.
  const host = checkHost(req.method, req.headers, runtime?.config.allowedHosts ?? allowedHostsFromEnv());
  if (!host.ok) throw new ApiError(host.code, host.status, host.message);
  if (!runtime) {
    // Without the database no caller can be checked: only open routes answer.
    if (access === "public") return ANONYMOUS;
    throw notReady();
  }
  const deps = { db: runtime.db, dataDir: runtime.config.dataDir };
  // An open route (health) must answer even when the database that would name the caller is
  // down: there, who is calling is only for the audit trail.
  const caller: Caller =
    access === "public"
      ? await resolveCaller(req, deps).catch((): Caller => ({ actor: ANONYMOUS, via: "none" }))
      : await resolveCaller(req, deps);
  const { actor } = caller;

  if (!isSafeMethod(req.method) && caller.via !== "token") {
    const origin = originVerdict(req);
    // A cross-site page can make the browser send our cookie (or sign someone in as the
    // attacker): refuse any cookie-borne change whose Origin is not ours, and, once a
    // session is in play, one that does not say where it came from at all.
    if (origin === "cross_origin" || (origin === "missing" && caller.via === "session")) {
      throw new AccessDenied(
        403,
        "cross-site request refused: send it from the nbdhub console, or use an API token",
        actor,
      );
    }
  }

  if (access === "public") return actor;
  if (caller.rejected === "token") throw new AccessDenied(401, "the API token is not valid or was revoked", actor);
  if (actor.kind === "anonymous") {
    const message =
      caller.rejected === "session"
        ? "your session has ended; sign in again"
        : "sign in, or send Authorization: Bearer <token>";
    throw new AccessDenied(401, message, actor);
  }
  if (!hasRole(actor.role, access)) {
    throw new AccessDenied(403, `this needs the ${access} role; ${actor.name} is ${actor.role ?? "no role"}`, actor);
  }
  return actor;
}
