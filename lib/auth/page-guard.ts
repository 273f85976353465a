// The real check for pages (proxy.ts only looks for the cookie): server components ask here
// who is signed in, from the same session rows the API uses.
import "server-only";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { authContext } from "./context";
import { PATH_HEADER, SESSION_COOKIE, isPublicPage } from "./cookie";
import { isRole, type Role } from "./roles";
import { sessionSecret } from "./session-secret";
import { resolveSession } from "./sessions";
import { countUsers } from "./users";

export type PageUser = { id: string; username: string; role: Role };

/** The signed-in user of this page request, or null (no cookie, ended session, server starting). */
export async function currentUser(): Promise<PageUser | null> {
  const context = authContext();
  if (!context) return null;
  const cookie = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!cookie) return null;
  const session = await resolveSession(context.db, await sessionSecret(context.dataDir), cookie);
  if (!session || !isRole(session.user.role)) return null;
  return { id: session.user.id, username: session.user.username, role: session.user.role };
}

/** The path of the page being rendered, as proxy.ts recorded it (overwritten on every request). */
async function currentPath(): Promise<string | null> {
  return (await headers()).get(PATH_HEADER);
}

function loginUrl(next: string | null): string {
  return next && next !== "/" ? `/login?next=${encodeURIComponent(next)}` : "/login";
}

/** Sign-in required: the user, or a redirect to /login that comes back here afterwards. */
export async function requireUser(): Promise<PageUser> {
  const user = await currentUser();
  if (!user) redirect(loginUrl(await currentPath()));
  return user;
}

/** For the header: on any page but /login and /setup, a request without a live session goes to /login. */
export async function guardPage(): Promise<PageUser | null> {
  const path = await currentPath();
  // No path means proxy.ts did not run for this request (its matcher skips static files):
  // treat it as a protected page, since /login and /setup always pass the proxy.
  if (path !== null && isPublicPage(path)) return currentUser();
  return requireUser();
}

/** null while the runtime starts (the page then says so). */
export async function usersExist(): Promise<boolean | null> {
  const context = authContext();
  if (!context) return null;
  return (await countUsers(context.db)) > 0;
}
