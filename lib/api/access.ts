// Who is calling, and may they? Enforced by the route wrapper for every route.
// Foundation version: access control lands with issue #6 (sessions, tokens, roles); until
// then every caller is the local operator, which is why exports bind to 127.0.0.1 by default.
import "server-only";
import type { NextRequest } from "next/server";
import type { Runtime } from "@/lib/runtime/runtime";

export type Role = "viewer" | "operator" | "admin";
export type Access = "public" | Role;
export type Actor = { kind: "user" | "token" | "anonymous"; id: string; name: string; role: Role | null };

export const ROLE_RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export async function authorize(_req: NextRequest, _runtime: Runtime | undefined, _access: Access): Promise<Actor> {
  return { kind: "anonymous", id: "local", name: "local", role: "admin" };
}
