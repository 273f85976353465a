// Names shared by the proxy (cheap presence check), the page guard and the API. Plain module:
// proxy.ts imports it, and it holds no secret.
export const SESSION_COOKIE = "nbdhub_session";
/** Set by proxy.ts on every page request so server components know the path they render. */
export const PATH_HEADER = "x-nbdhub-path";
/** Pages anyone may open: signing in needs no session. */
const PUBLIC_PAGES = ["/login", "/setup"] as const;

export function isPublicPage(pathname: string): boolean {
  return PUBLIC_PAGES.some((p) => pathname === p || pathname.startsWith(`${p}/`));
}

/** Browsers drop tabs and newlines anywhere in a URL and read `\` as `/`: "/\t/evil" is "//evil". */
const UNSAFE_IN_PATH = /[\u0000-\u0020\u007f-\u009f\\]/;
const PROBE_ORIGIN = "http://nbdhub.invalid";

/**
 * Where to go after signing in: only a path on this site, as the browser will read it.
 * `//evil.example`, `/\evil` or `/<tab>/evil` would make it leave (an open redirect), so any
 * control character, space or backslash is refused outright, and what is left must resolve
 * to this origin. Anything else goes home.
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || next.length > 2048 || UNSAFE_IN_PATH.test(next)) return "/";
  if (!next.startsWith("/") || next.startsWith("//")) return "/";
  let url: URL;
  try {
    url = new URL(next, PROBE_ORIGIN);
  } catch {
    return "/";
  }
  if (url.origin !== PROBE_ORIGIN || isPublicPage(url.pathname)) return "/";
  return `${url.pathname}${url.search}${url.hash}`;
}
