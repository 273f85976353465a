// Pages and public files: refuse host names the console does not answer to, record the path
// for the page guard, and send a page without a session cookie to /login
// (lib/auth/proxy-rules.ts). API requests get no page check (the route wrapper checks the
// host and answers 401 in the error envelope); they only pass the guards that answer in the
// envelope what the router would answer bare: a path it cannot decode (lib/api/path-guard.ts),
// a method the route does not export (method-guard.ts).
import { NextResponse, type NextRequest } from "next/server";
import { guardApiMethod } from "@/lib/api/method-guard";
import { guardApiPath } from "@/lib/api/path-guard";
import { pageAccess } from "@/lib/auth/proxy-rules";

export function proxy(req: NextRequest) {
  if (req.nextUrl.pathname.startsWith("/api/")) return guardApiPath(req) ?? guardApiMethod(req) ?? NextResponse.next();
  return pageAccess(req);
}

export const config = {
  // The API, then everything but Next's build assets. Paths that look like files are included
  // (a page path may hold a dot, such as a job id "vm1.png"), so that no page is rendered
  // with a path header the client wrote; proxy-rules.ts does not redirect them.
  matcher: ["/api/:path*", "/((?!api/|_next/static/|_next/image).*)"],
};
