// Sign-in: throttle, verify the password (argon2id), open a session. What happened is written
// to the request's audit note (target = the user name tried, never the password); the wrapper
// records it, and the throttle counts those rows.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { ApiError } from "@/lib/api/errors";
import type { LoginBody } from "@/lib/api/schemas/auth";
import type { User } from "@/lib/generated/prisma/client";
import { recordAudit, type AuditNote } from "./audit";
import { verifyPassword } from "./passwords";
import { BAD_CREDENTIALS, LOGIN_ACTION, THROTTLED, loginWaitSeconds, oneAttemptAtATime } from "./throttle";

export class TooManyAttempts extends ApiError {
  constructor(public readonly retryAfterSeconds: number, scope: "account" | "address") {
    super(
      "too_many_attempts",
      429,
      `too many failed sign-ins for this ${scope}; try again in ${retryAfterSeconds} s`,
      { retryAfterSeconds },
    );
  }
}

/** Check the credentials; the caller opens the session. Throws 401 invalid_credentials or 429. */
export async function signIn(db: Db, body: LoginBody, clientIp: string | undefined, note: AuditNote): Promise<User> {
  note.target = body.username;
  return oneAttemptAtATime(body.username, clientIp, async () => {
    const wait = await loginWaitSeconds(db, body.username, clientIp);
    if (wait.seconds > 0 && wait.scope) {
      note.details = { reason: THROTTLED, scope: wait.scope };
      throw new TooManyAttempts(wait.seconds, wait.scope);
    }
    const user = await db.user.findUnique({ where: { username: body.username } });
    const ok = await verifyPassword(user?.passwordHash, body.password);
    if (!user || !ok || user.disabled) {
      note.details = { reason: BAD_CREDENTIALS, ...(user?.disabled && ok ? { disabled: true } : {}) };
      // Written here, inside the per-account queue, so the next attempt already counts it.
      await recordAudit(db, { actor: "anonymous", action: LOGIN_ACTION, target: body.username, result: "denied", status: 401, clientIp, details: note.details });
      note.recorded = true;
      throw new ApiError("invalid_credentials", 401, "the user name or password is wrong");
    }
    note.actor = user.username;
    return user;
  });
}
