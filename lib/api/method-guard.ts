// A method that the matched /api/v1 route does not export: Next.js would answer a bare 405
// before any handler runs; this answers `405 method_not_allowed` in the error envelope, with
// `Allow`. Routes are matched as Next matches them: a static segment before a [param], a
// [param] before a [...catch-all] (app/api/v1/[...path] answers unknown paths with 404).
// No "server-only": it runs in proxy.ts and is unit-tested.
import { NextResponse, type NextRequest } from "next/server";
import type { ErrorEnvelope } from "./errors";
import { ROUTE_METHODS } from "./route-methods";

const API_PREFIX = "/api/v1";

type Template = { template: string; segments: string[]; methods: readonly string[] };

/** Most specific first: at the first segment where two differ, static before [param]. */
const TEMPLATES: Template[] = Object.entries(ROUTE_METHODS)
  .map(([template, methods]) => ({ template, segments: template.split("/").filter(Boolean), methods }))
  .sort((a, b) => {
    for (let i = 0; i < Math.min(a.segments.length, b.segments.length); i += 1) {
      const rank = (s: string) => (s.startsWith("[") ? 1 : 0);
      const d = rank(a.segments[i]) - rank(b.segments[i]);
      if (d !== 0) return d;
    }
    return 0;
  });

function matches(template: Template, segments: string[]): boolean {
  return (
    template.segments.length === segments.length &&
    template.segments.every((t, i) => t.startsWith("[") || t === segments[i])
  );
}

/** The methods the route at this /api/v1 path accepts, or undefined when no route is there. */
export function allowedMethods(pathname: string): readonly string[] | undefined {
  if (!pathname.startsWith(`${API_PREFIX}/`) && pathname !== API_PREFIX) return undefined;
  // Compared decoded, as Next routes them (`%61llocate` is `allocate`); path-guard.ts has
  // already answered a path that does not decode.
  let segments: string[];
  try {
    segments = pathname.slice(API_PREFIX.length).split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  return TEMPLATES.find((t) => matches(t, segments))?.methods;
}

/** The 405 answer for a method the route does not take, or undefined to let the request through. */
export function guardApiMethod(req: NextRequest): NextResponse<ErrorEnvelope> | undefined {
  const methods = allowedMethods(req.nextUrl.pathname);
  if (!methods) return undefined;
  // Next answers HEAD from GET, and OPTIONS itself (with Allow).
  if (methods.includes(req.method) || req.method === "OPTIONS" || (req.method === "HEAD" && methods.includes("GET")))
    return undefined;
  const allow = methods.join(", ");
  const body: ErrorEnvelope = {
    error: {
      code: "method_not_allowed",
      message: `${req.method} is not served here; this path takes ${allow}`,
      details: { allow: [...methods] },
    },
  };
  return NextResponse.json(body, { status: 405, headers: { allow, "cache-control": "no-store" } });
}
