// DELETE /api/v1/tokens/{id} – revoke a token; it stops working at once (admin)
import { route, json } from "@/lib/api/route";
import { idParams } from "@/lib/api/schemas/auth";
import { revokeToken } from "@/lib/auth/tokens";

export const dynamic = "force-dynamic";

export const DELETE = route(
  { access: "admin", action: "token.revoke", params: idParams },
  async ({ runtime, params, audit }) => {
    const token = await revokeToken(runtime.db, params.id);
    audit.target = `token:${token.name}`;
    audit.details = { id: token.id };
    return json(token);
  },
);
