// Roles and their order. Plain module (no server-only): the console uses it to decide which
// buttons to show, the server to decide what to allow. The server's decision is the real one.
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** True when `role` is at least `needed` (viewer < operator < admin). */
export function hasRole(role: Role | null | undefined, needed: Role): boolean {
  return role != null && ROLE_RANK[role] >= ROLE_RANK[needed];
}

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

/** A role read from a row; anything else is a damaged row, never shown as some role. */
export function roleOf(value: string): Role {
  if (!isRole(value)) throw new Error(`not a role: ${JSON.stringify(value)}`);
  return value;
}
