// POST /api/v1/auth/login – check a user name and password, open a session (cookie)
import { route, json } from "@/lib/api/route";
import { loginBody, meView, type SignedInView } from "@/lib/api/schemas/auth";
import { signIn } from "@/lib/auth/login";
import { sessionSecret } from "@/lib/auth/session-secret";
import { createSession, setSessionCookie } from "@/lib/auth/sessions";

export const dynamic = "force-dynamic";

export const POST = route(
  { access: "public", action: "auth.login", body: loginBody },
  async ({ req, body, runtime, clientIp, audit }) => {
    const user = await signIn(runtime.db, body, clientIp, audit);
    const session = await createSession(runtime.db, await sessionSecret(runtime.config.dataDir), user.id);
    const me = meView.parse({ kind: "user", id: user.id, name: user.username, role: user.role });
    const res = json<SignedInView>({ user: me, expiresAt: session.expiresAt.toISOString() });
    setSessionCookie(res, req, session.cookie);
    return res;
  },
);
