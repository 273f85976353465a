// What proxy.ts does for every page request, kept under lib/ so it is tested and rebuilt with
// the rest. Only a cheap presence check of the session cookie (no database here): the real
// check is in the API wrapper and in the pages' server-side guard (page-guard.ts).
import { NextResponse, type NextRequest } from "next/server";
import { PATH_HEADER, SESSION_COOKIE, isPublicPage } from "./cookie";

export function pageAccess(req: NextRequest): NextResponse {
  const { pathname, search } = req.nextUrl;
  if (!isPublicPage(pathname) && !req.cookies.get(SESSION_COOKIE)?.value) {
    const url = req.nextUrl.clone();
    url.pathname = "/login";
    url.search = pathname === "/" ? "" : `?next=${encodeURIComponent(pathname + search)}`;
    return NextResponse.redirect(url);
  }
  // Always overwritten, so a client cannot claim to be on /login to skip the page guard.
  const headers = new Headers(req.headers);
  headers.set(PATH_HEADER, pathname);
  return NextResponse.next({ request: { headers } });
}
