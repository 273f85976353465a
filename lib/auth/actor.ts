// Who is calling. Plain types (no server-only) so client code may name them too.
import type { Role } from "./roles";

export type Actor = {
  kind: "user" | "token" | "anonymous";
  /** User id, token id, or "anonymous". */
  id: string;
  /**
   * What people read in job rows and the audit trail: the user name, or `token:<name>` for an
   * API token. Never a secret.
   */
  name: string;
  role: Role | null;
  /** Set when the caller came with a session cookie (sign-out revokes this session). */
  sessionId?: string;
};

export const ANONYMOUS: Actor = Object.freeze({
  kind: "anonymous",
  id: "anonymous",
  name: "anonymous",
  role: null,
}) as Actor;

export const tokenActorName = (tokenName: string) => `token:${tokenName}`;
