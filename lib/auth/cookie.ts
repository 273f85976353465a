// Names shared by the proxy (cheap presence check), the page guard and the API. Plain module:
// proxy.ts imports it, and it holds no secret.
export const SESSION_COOKIE = "nbdhub_session";
/** Set by proxy.ts on every page request so server components know the path they render. */
export const PATH_HEADER = "x-nbdhub-path";
/** Pages anyone may open: signing in needs no session. */
export const PUBLIC_PAGES = ["/login", "/setup"] as const;

export function isPublicPage(pathname: string): boolean {
  return PUBLIC_PAGES.some((p) => pathname === p || pathname.startsWith(`${p}/`));
}

/**
 * Where to go after signing in. Only a path on this site: `//evil.example` or `/\evil` would
 * make the browser leave it (an open redirect).
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (isPublicPage(next.split("?")[0])) return "/";
  return next;
}
