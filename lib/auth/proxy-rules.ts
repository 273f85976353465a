// What proxy.ts does for every request it sees (every page, and public files), kept under
// lib/ so it is tested and rebuilt with the rest. No database here: the real sign-in check is
// in the API wrapper and in the pages' server-side guard (page-guard.ts).
// 1. A host name the console does not answer to is refused (DNS rebinding, decision 009).
// 2. The path header the page guard reads is always written here, never taken from the client.
// 3. A page without a session cookie goes to /login (a cheap presence check).
import { NextResponse, type NextRequest } from "next/server";
import { PATH_HEADER, SESSION_COOKIE, isPublicPage } from "./cookie";
import { allowedHostsFromEnv, checkHost } from "./host-check";

/** Files served from public/ (and Next's own): they load on /login too, so never redirect them. */
const STATIC_FILE = /\.(?:ico|png|jpe?g|gif|svg|webp|txt|xml|webmanifest|css|js|map|woff2?)$/i;

export function pageAccess(req: NextRequest): NextResponse {
  const host = checkHost(req.method, req.headers, allowedHostsFromEnv());
  if (!host.ok) {
    return new NextResponse(`${host.message}\n`, {
      status: host.status,
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
  }
  const { pathname, search } = req.nextUrl;
  const fileLike = STATIC_FILE.test(pathname);
  if (!fileLike && !isPublicPage(pathname) && !req.cookies.get(SESSION_COOKIE)?.value) {
    const url = req.nextUrl.clone();
    url.pathname = "/login";
    url.search = pathname === "/" ? "" : `?next=${encodeURIComponent(pathname + search)}`;
    return NextResponse.redirect(url);
  }
  // Always overwritten, so a client cannot claim to be on /login to skip the page guard. A
  // page whose path looks like a file (a job id "vm.png") is still guarded: the guard sees
  // its real path.
  const headers = new Headers(req.headers);
  headers.set(PATH_HEADER, pathname);
  return NextResponse.next({ request: { headers } });
}
