// Pages need a signed-in user: without a session cookie, go to /login (lib/auth/proxy-rules.ts).
// API requests get no page check (the route wrapper answers 401 in the error envelope); they
// only pass the guards that answer in the envelope what the router would answer bare: a path
// it cannot decode (lib/api/path-guard.ts), a method the route does not export (method-guard.ts).
import { NextResponse, type NextRequest } from "next/server";
import { guardApiMethod } from "@/lib/api/method-guard";
import { guardApiPath } from "@/lib/api/path-guard";
import { pageAccess } from "@/lib/auth/proxy-rules";

export function proxy(req: NextRequest) {
  if (req.nextUrl.pathname.startsWith("/api/")) return guardApiPath(req) ?? guardApiMethod(req) ?? NextResponse.next();
  return pageAccess(req);
}

export const config = {
  // The API, then everything but Next's own assets and static files. A page path may hold a dot
  // (a job id like "vm1.full"), so only known file types are left out.
  matcher: ["/api/:path*", "/((?!api/|_next/|.*\\.(?:ico|png|jpe?g|gif|svg|webp|txt|xml|webmanifest|css|js|map|woff2?)$).*)"],
};
