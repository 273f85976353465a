// Schemas of the access-control API (sign-in, users, tokens, audit), shared by the route
// handlers and the console's forms. Answers go through the *View schemas so that a column
// added later (or a hash) can never leak into a response.
import { z } from "zod";
import { answerTime } from "./times";
import { ROLES } from "@/lib/auth/roles";

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** argon2 cost is per byte too: a cap keeps one sign-in from being a denial of service. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export const roleSchema = z.enum(ROLES, { error: "one of viewer, operator, admin" });

export const usernameSchema = z
  .string({ error: "a user name (string)" })
  .trim()
  .toLowerCase()
  .regex(
    USERNAME_PATTERN,
    "1-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

export const passwordSchema = z
  .string({ error: "a password (string)" })
  .min(PASSWORD_MIN, `at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `at most ${PASSWORD_MAX} characters`);

export const loginBody = z.object({
  username: z
    .string({ error: "a user name (string)" })
    .trim()
    .toLowerCase()
    .min(1, "a user name")
    .max(64, "at most 64 characters"),
  // No length rule at sign-in beyond the cap: a wrong password is "wrong", not "invalid".
  password: z
    .string({ error: "a password (string)" })
    .min(1, "a password")
    .max(PASSWORD_MAX, `at most ${PASSWORD_MAX} characters`),
});
export type LoginBody = z.infer<typeof loginBody>;

/** The one-time code the server printed in its log; needed when setting up from another machine. */
export const SETUP_CODE_MAX = 64;
export const setupBody = z.object({
  username: usernameSchema,
  password: passwordSchema,
  setupCode: z
    .string({ error: "the setup code (string)" })
    .max(SETUP_CODE_MAX, `at most ${SETUP_CODE_MAX} characters`)
    .optional(),
});
export type SetupBody = z.infer<typeof setupBody>;

export const createUserBody = z.object({ username: usernameSchema, password: passwordSchema, role: roleSchema });
export type CreateUserBody = z.infer<typeof createUserBody>;

export const updateUserBody = z
  .object({
    role: roleSchema.optional(),
    disabled: z.boolean({ error: "true or false" }).optional(),
    password: passwordSchema.optional(),
  })
  .strict()
  .refine(
    (v) => v.role !== undefined || v.disabled !== undefined || v.password !== undefined,
    "one of role, disabled, password",
  );
export type UpdateUserBody = z.infer<typeof updateUserBody>;

export const idParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "an id") });

export const createTokenBody = z.object({
  name: z
    .string({ error: "a name (string)" })
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, "1-64 characters: letters, digits, space, '.', '_' or '-'"),
  role: roleSchema,
});
export type CreateTokenBody = z.infer<typeof createTokenBody>;

const isoTime = z.iso.datetime({ offset: true, error: "an ISO-8601 time such as 2026-01-31T12:00:00Z" });

export const AUDIT_RESULTS = ["allowed", "denied", "failed"] as const;

export const auditQuery = z.object({
  actor: z.string().trim().max(200).optional(),
  action: z.string().trim().max(200).optional(),
  target: z.string().trim().max(500).optional(),
  result: z.enum(AUDIT_RESULTS, { error: "one of allowed, denied, failed" }).optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
  limit: z.coerce.number({ error: "a whole number from 1 to 500" }).int().min(1).max(500).default(100),
  /** The id of the last row of the previous page. */
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, "a cursor from a previous page")
    .optional(),
});
export type AuditQuery = z.infer<typeof auditQuery>;

// ---- answers ----

export const userView = z.object({
  id: z.string(),
  username: z.string(),
  role: roleSchema,
  disabled: z.boolean(),
  createdAt: answerTime,
  lastLoginAt: answerTime.nullable(),
});
export type UserView = z.infer<typeof userView>;

/** GET /users. */
export const userListView = z.object({ items: z.array(userView) });
export type UserListView = z.infer<typeof userListView>;

export const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  role: roleSchema,
  createdBy: z.string().nullable(),
  createdAt: answerTime,
  lastUsedAt: answerTime.nullable(),
  revokedAt: answerTime.nullable(),
  /** The user who made it (directly, or through a token of theirs); null for the bootstrap token's. */
  createdByUserId: z.string().nullable(),
  /** What it may do now: its role, capped by its maker's current role; null when it is refused. */
  effectiveRole: roleSchema.nullable(),
  /** Why it is refused (revoked, maker disabled or deleted, …); null while it works. */
  refusedBecause: z.string().nullable(),
});
export type TokenView = z.infer<typeof tokenView>;

/** Only the answer to POST /tokens carries the secret, once. */
export const createdTokenView = tokenView.extend({ token: z.string() });
export type CreatedTokenView = z.infer<typeof createdTokenView>;

/** GET /tokens: never with secrets. */
export const tokenListView = z.object({ items: z.array(tokenView) });
export type TokenListView = z.infer<typeof tokenListView>;

export const meView = z.object({
  kind: z.enum(["user", "token"]),
  id: z.string(),
  name: z.string(),
  role: roleSchema,
});
export type MeView = z.infer<typeof meView>;

/** POST /auth/login: who signed in, and when the session ends unless used before. */
export const signedInView = z.object({ user: meView, expiresAt: answerTime });
export type SignedInView = z.infer<typeof signedInView>;

/** POST /auth/setup (201): the first admin, signed in. */
export const setUpView = z.object({ user: meView });
export type SetUpView = z.infer<typeof setUpView>;

/** POST /auth/logout: whether a session was ended (false when there was none). */
export const signedOutView = z.object({ signedOut: z.boolean() });
export type SignedOutView = z.infer<typeof signedOutView>;

export const auditEventView = z.object({
  id: z.string(),
  at: answerTime,
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  result: z.enum(AUDIT_RESULTS),
  status: z.number().int().nullable(),
  clientIp: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});
export type AuditEventView = z.infer<typeof auditEventView>;

export const auditPage = z.object({ items: z.array(auditEventView), nextCursor: z.string().nullable() });
export type AuditPage = z.infer<typeof auditPage>;
