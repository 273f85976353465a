// GET /api/v1/auth/me – who the caller is (user or token) and their role
import { route, json } from "@/lib/api/route";
import { meView } from "@/lib/api/schemas/auth";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer" }, async ({ actor }) =>
  json(meView.parse({ kind: actor.kind, id: actor.id, name: actor.name, role: actor.role })),
);
