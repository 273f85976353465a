// PATCH /api/v1/users/{id} – change role, disable or enable, reset password (admin) · DELETE – remove
import { route, json } from "@/lib/api/route";
import { idParams, updateUserBody } from "@/lib/api/schemas/auth";
import { deleteUser, updateUser } from "@/lib/auth/users";

export const dynamic = "force-dynamic";

export const PATCH = route(
  { access: "admin", action: "user.update", params: idParams, body: updateUserBody },
  async ({ runtime, params, body, actor, audit }) => {
    // Which fields changed, never the password itself.
    audit.details = {
      ...(body.role ? { role: body.role } : {}),
      ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
      ...(body.password ? { passwordReset: true } : {}),
    };
    const user = await updateUser(runtime.db, params.id, body, { userId: actor.kind === "user" ? actor.id : null });
    audit.target = `user:${user.username}`;
    return json(user);
  },
);

export const DELETE = route(
  { access: "admin", action: "user.delete", params: idParams },
  async ({ runtime, params, actor, audit }) => {
    const user = await deleteUser(runtime.db, params.id, { userId: actor.kind === "user" ? actor.id : null });
    audit.target = `user:${user.username}`;
    return json(user);
  },
);
