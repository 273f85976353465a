// POST /api/v1/auth/logout – end this browser's session on the server and clear its cookie
import { route, json } from "@/lib/api/route";
import type { SignedOutView } from "@/lib/api/schemas/auth";
import { clearSessionCookie, revokeSession } from "@/lib/auth/sessions";

export const dynamic = "force-dynamic";

// Open to all: signing out with an already-ended session must still clear the cookie.
export const POST = route({ access: "public", action: "auth.logout" }, async ({ req, runtime, actor }) => {
  if (actor.sessionId) await revokeSession(runtime.db, actor.sessionId);
  const res = json<SignedOutView>({ signedOut: Boolean(actor.sessionId) });
  clearSessionCookie(res, req);
  return res;
});
