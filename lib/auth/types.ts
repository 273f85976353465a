// What the access-control layer takes and answers, in its own words. The API's zod schemas
// (lib/api/schemas/auth.ts) are checked to produce the inputs and to describe the answers
// exactly (lib/api/schema-contracts.ts), so this layer never imports the HTTP layer. Answers
// are built field by field: a column added later (or a hash) never reaches one.
import type { AuditResult } from "./audit";
import type { Role } from "./roles";

export type Credentials = { username: string; password: string };

/** A change to a user: at least one of the three (the API's schema makes sure). */
export type UserPatch = { role?: Role; disabled?: boolean; password?: string };

export type UserView = {
  id: string;
  username: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
};

export type TokenView = {
  id: string;
  name: string;
  role: Role;
  createdBy: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** The user who made it (directly, or through a token of theirs); null for the bootstrap token's. */
  createdByUserId: string | null;
  /** What it may do now: its role, capped by its maker's current role; null when it is refused. */
  effectiveRole: Role | null;
  /** Why it is refused (revoked, maker disabled or deleted, …); null while it works. */
  refusedBecause: string | null;
};

/** Only the answer to POST /tokens carries the secret, once. */
export type CreatedTokenView = TokenView & { token: string };

/** Filters of the audit trail, newest first; `cursor` is the id of the last row of the previous page. */
export type AuditFilter = {
  actor?: string;
  action?: string;
  target?: string;
  result?: AuditResult;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
};

export type AuditEventView = {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  result: AuditResult;
  status: number | null;
  clientIp: string | null;
  details: Record<string, unknown> | null;
};

export type AuditPage = { items: AuditEventView[]; nextCursor: string | null };
