// Pages need a signed-in user: without a session cookie, go to /login (lib/auth/proxy-rules.ts).
// The API is left out: its route wrapper answers 401 in the error envelope instead.
import type { NextRequest } from "next/server";
import { pageAccess } from "@/lib/auth/proxy-rules";

export function proxy(req: NextRequest) {
  return pageAccess(req);
}

export const config = {
  // Everything but the API, Next's own assets and static files. A page path may hold a dot
  // (a job id like "vm1.full"), so only known file types are left out.
  matcher: ["/((?!api/|_next/|.*\\.(?:ico|png|jpe?g|gif|svg|webp|txt|xml|webmanifest|css|js|map|woff2?)$).*)"],
};
