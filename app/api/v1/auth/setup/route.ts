// POST /api/v1/auth/setup – the first admin account, only while there are no users; signs it in
import { route, json } from "@/lib/api/route";
import { meView, setupBody } from "@/lib/api/schemas/auth";
import { sessionSecret } from "@/lib/auth/session-secret";
import { createSession, setSessionCookie } from "@/lib/auth/sessions";
import { setupFirstAdmin } from "@/lib/auth/users";

export const dynamic = "force-dynamic";

export const POST = route({ access: "public", action: "auth.setup", body: setupBody }, async ({ req, body, runtime, audit }) => {
  audit.target = `user:${body.username}`;
  const user = await setupFirstAdmin(runtime.db, body);
  audit.actor = user.username;
  const session = await createSession(runtime.db, await sessionSecret(runtime.config.dataDir), user.id);
  const res = json({ user: meView.parse({ kind: "user", id: user.id, name: user.username, role: user.role }) }, 201);
  setSessionCookie(res, req, session.cookie);
  return res;
});
