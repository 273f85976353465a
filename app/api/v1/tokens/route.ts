// GET /api/v1/tokens – every API token, without secrets (admin) · POST – create one; the secret is in this answer only
import { route, json } from "@/lib/api/route";
import { createTokenBody, type TokenListView } from "@/lib/api/schemas/auth";
import { createToken, listTokens } from "@/lib/auth/tokens";

export const dynamic = "force-dynamic";

export const GET = route({ access: "admin" }, async ({ runtime }) =>
  json<TokenListView>({ items: await listTokens(runtime.db) }),
);

export const POST = route(
  { access: "admin", action: "token.create", body: createTokenBody },
  async ({ runtime, body, actor, audit }) => {
    const created = await createToken(runtime.db, { name: body.name, role: body.role, maker: actor });
    audit.target = `token:${created.name}`;
    audit.details = { role: created.role, id: created.id };
    return json(created, 201);
  },
);
