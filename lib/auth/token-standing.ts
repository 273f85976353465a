// Whether an API token works now, and with which role. A token is only as good as whoever
// made it: a user (still there, not disabled; their current role caps the token's) or the
// token it was made with (which must itself still work, recursively). Only the bootstrap
// token (NBDHUB_BOOTSTRAP_TOKEN) stands on its own. Pure logic: the caller loads the rows.
import { ROLE_RANK, isRole, type Role } from "./roles";

/** createdBy of the token that NBDHUB_BOOTSTRAP_TOKEN makes. */
export const BOOTSTRAP_CREATOR = "NBDHUB_BOOTSTRAP_TOKEN";
/** A chain longer than this is refused rather than walked (tokens making tokens making …). */
const MAX_CHAIN = 8;

export type TokenLink = {
  id: string;
  role: string;
  createdBy: string | null;
  createdByUserId: string | null;
  createdByTokenId: string | null;
  revokedAt: Date | null;
};
export type MakerUser = { username: string; role: string; disabled: boolean };

export type TokenLoader = {
  user(id: string): Promise<MakerUser | null> | MakerUser | null;
  token(id: string): Promise<TokenLink | null> | TokenLink | null;
};

export type Standing = { role: Role; refusedBecause: null } | { role: null; refusedBecause: string };

const refused = (refusedBecause: string): Standing => ({ role: null, refusedBecause });

function lower(a: Role, b: string): Role | null {
  if (!isRole(b)) return null;
  return ROLE_RANK[b] < ROLE_RANK[a] ? b : a;
}

export function isBootstrapRoot(token: TokenLink): boolean {
  return token.createdBy === BOOTSTRAP_CREATOR && !token.createdByUserId && !token.createdByTokenId;
}

export async function tokenStanding(token: TokenLink, load: TokenLoader): Promise<Standing> {
  if (!isRole(token.role)) return refused("it has no valid role");
  let role: Role = token.role;
  let current = token;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const self = depth === 0;
    if (current.revokedAt) return refused(self ? "it was revoked" : "the token it was made with was revoked");
    if (isBootstrapRoot(current)) return { role, refusedBecause: null };
    if (!current.createdByUserId && !current.createdByTokenId) return refused("the user who made it was deleted");
    if (current.createdByUserId) {
      const user = await load.user(current.createdByUserId);
      if (!user) return refused("the user who made it was deleted");
      if (user.disabled) return refused(`the user who made it (${user.username}) is disabled`);
      const capped = lower(role, user.role);
      if (!capped) return refused(`the user who made it (${user.username}) has no valid role`);
      role = capped;
    }
    if (!current.createdByTokenId) return { role, refusedBecause: null };
    const maker = await load.token(current.createdByTokenId);
    if (!maker) return refused("the token it was made with was deleted");
    const capped = lower(role, maker.role);
    if (!capped) return refused("the token it was made with has no valid role");
    role = capped;
    current = maker;
  }
  return refused("it was made through too many tokens");
}
