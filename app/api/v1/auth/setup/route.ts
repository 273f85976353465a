// POST /api/v1/auth/setup – the first admin account, only while there are no users; signs it in.
// From another machine it needs the one-time setup code printed in the server's log.
import { route, json } from "@/lib/api/route";
import { meView, setupBody, type SetUpView } from "@/lib/api/schemas/auth";
import { clientAddressOf } from "@/lib/auth/client-address";
import { sessionSecret } from "@/lib/auth/session-secret";
import { createSession, setSessionCookie } from "@/lib/auth/sessions";
import { forgetSetupCode, requireSetupAllowed } from "@/lib/auth/setup-code";
import { setupFirstAdmin } from "@/lib/auth/users";

export const dynamic = "force-dynamic";

export const POST = route(
  { access: "public", action: "auth.setup", body: setupBody },
  async ({ req, body, runtime, audit }) => {
    audit.target = `user:${body.username}`;
    const { local } = clientAddressOf(req.headers);
    const user = await setupFirstAdmin(runtime.db, body, () => requireSetupAllowed(local, body.setupCode));
    forgetSetupCode();
    audit.actor = user.username;
    const session = await createSession(runtime.db, await sessionSecret(runtime.config.dataDir), user.id);
    const me = meView.parse({ kind: "user", id: user.id, name: user.username, role: user.role });
    const res = json<SetUpView>({ user: me }, 201);
    setSessionCookie(res, req, session.cookie);
    return res;
  },
);
