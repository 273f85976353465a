// GET /api/v1/users – every console user (admin) · POST – create one
import { route, json } from "@/lib/api/route";
import { createUserBody, type UserListView } from "@/lib/api/schemas/auth";
import { createUser, listUsers } from "@/lib/auth/users";

export const dynamic = "force-dynamic";

export const GET = route({ access: "admin" }, async ({ runtime }) =>
  json<UserListView>({ items: await listUsers(runtime.db) }),
);

export const POST = route(
  { access: "admin", action: "user.create", body: createUserBody },
  async ({ runtime, body, audit }) => {
    audit.target = `user:${body.username}`;
    audit.details = { role: body.role };
    return json(await createUser(runtime.db, body), 201);
  },
);
