// Every page and public file: refuse host names the console does not answer to, record the
// path for the page guard, and send a page without a session cookie to /login
// (lib/auth/proxy-rules.ts). The API is left out: its route wrapper checks the host and
// answers 401 in the error envelope instead.
import type { NextRequest } from "next/server";
import { pageAccess } from "@/lib/auth/proxy-rules";

export function proxy(req: NextRequest) {
  return pageAccess(req);
}

export const config = {
  // Everything but the API and Next's build assets. Paths that look like files are included
  // (a page path may hold a dot, such as a job id "vm1.png"), so that no page is rendered
  // with a path header the client wrote; proxy-rules.ts does not redirect them.
  matcher: ["/((?!api/|_next/static/|_next/image).*)"],
};
