// API paths the router cannot take: Next.js decodes each path segment before any route
// handler runs, and a segment that is not UTF-8 after percent-decoding (`/api/v1/backups/%FF`)
// makes it answer a bare 500. proxy.ts runs this first for every /api path, so such a path, and
// one too long to be any route's, gets the API's error envelope (400 invalid_path) instead.
// No "server-only": it runs in proxy.ts and is unit-tested; it touches nothing.
import { NextResponse, type NextRequest } from "next/server";
import type { ErrorEnvelope } from "./errors";

/** Far above any route's path (ids are at most 128 characters), far below Node's 16 KiB header limit. */
export const MAX_API_PATH_LENGTH = 2048;

/** Why this raw (still percent-encoded) path cannot be served, or undefined when it can. */
export function apiPathProblem(pathname: string): { reason: "too_long" | "undecodable"; message: string } | undefined {
  if (pathname.length > MAX_API_PATH_LENGTH) {
    return {
      reason: "too_long",
      message: `the path is ${pathname.length} characters long; an API path has at most ${MAX_API_PATH_LENGTH}`,
    };
  }
  try {
    decodeURIComponent(pathname);
  } catch {
    return {
      reason: "undecodable",
      message: "the path does not decode: a %-escape is incomplete or the bytes are not UTF-8",
    };
  }
  return undefined;
}

/** The error answer for a path the router cannot take, or undefined to let the request through. */
export function guardApiPath(req: NextRequest): NextResponse<ErrorEnvelope> | undefined {
  const problem = apiPathProblem(req.nextUrl.pathname);
  if (!problem) return undefined;
  const body: ErrorEnvelope = {
    error: { code: "invalid_path", message: problem.message, details: { reason: problem.reason } },
  };
  return NextResponse.json(body, { status: 400, headers: { "cache-control": "no-store" } });
}
