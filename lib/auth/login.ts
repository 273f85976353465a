// Sign-in: throttle, verify the password (argon2id, under the process-wide cap), open a
// session. A failure is counted for the brake (login_failures) and written to the request's
// audit note (target = the user name tried, never the password); the wrapper records it.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { DomainError, tooMany } from "@/lib/errors";
import type { User } from "@/lib/generated/prisma/client";
import type { AuditNote } from "./audit";
import type { Credentials } from "./types";
import { verifyPassword } from "./passwords";
import {
  BAD_CREDENTIALS,
  THROTTLED,
  clearLoginFailures,
  loginWaitSeconds,
  oneAttemptAtATime,
  recordLoginFailure,
  type ThrottleScope,
} from "./throttle";

const SCOPE_TEXT: Record<ThrottleScope, string> = {
  account: "this account from your address",
  address: "your address",
};

function tooManyAttempts(retryAfterSeconds: number, scope: ThrottleScope) {
  return tooMany(
    "too_many_attempts",
    `too many failed sign-ins for ${SCOPE_TEXT[scope]}; try again in ${retryAfterSeconds} s`,
    { retryAfterSeconds, scope },
  );
}

/** Check the credentials; the caller opens the session. Throws 401 invalid_credentials or 429. */
export async function signIn(db: Db, body: Credentials, clientIp: string | undefined, note: AuditNote): Promise<User> {
  note.target = body.username;
  return oneAttemptAtATime(body.username, clientIp, async () => {
    const wait = await loginWaitSeconds(db, body.username, clientIp);
    if (wait.seconds > 0 && wait.scope) {
      note.details = { reason: THROTTLED, scope: wait.scope };
      throw tooManyAttempts(wait.seconds, wait.scope);
    }
    const user = await db.user.findUnique({ where: { username: body.username } });
    const ok = await verifyPassword(user?.passwordHash, body.password);
    if (!user || !ok || user.disabled) {
      note.details = { reason: BAD_CREDENTIALS, ...(user?.disabled && ok ? { disabled: true } : {}) };
      // Written here, inside the address's queue, so its next attempt already counts it.
      await recordLoginFailure(db, body.username, clientIp);
      throw new DomainError("unauthenticated", "invalid_credentials", "the user name or password is wrong");
    }
    await clearLoginFailures(db, body.username, clientIp);
    note.actor = user.username;
    return user;
  });
}
