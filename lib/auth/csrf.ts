// Cross-site request forgery: a state-changing request that rides on the session cookie must
// come from a page of this console. Browsers send Origin on every POST/PATCH/DELETE (and
// Sec-Fetch-Site), and a page on another site cannot forge either. Bearer requests carry no
// ambient credential, so they are exempt.
import "server-only";
import type { NextRequest } from "next/server";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export function isSafeMethod(method: string): boolean {
  return SAFE.has(method.toUpperCase());
}

export type OriginVerdict = "same_origin" | "cross_origin" | "missing";

/** Compare Origin with the host the request was sent to (Host, or X-Forwarded-Host behind a proxy). */
export function originVerdict(req: NextRequest): OriginVerdict {
  const origin = req.headers.get("origin");
  if (!origin || origin === "null") {
    // No Origin: trust only the browser's own statement that the request is same-origin.
    const site = req.headers.get("sec-fetch-site");
    if (site === "same-origin") return "same_origin";
    return origin === "null" || site === "cross-site" || site === "same-site" ? "cross_origin" : "missing";
  }
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    return "cross_origin";
  }
  const hosts = [req.headers.get("host"), req.headers.get("x-forwarded-host")?.split(",")[0]?.trim()]
    .filter((h): h is string => Boolean(h))
    .map((h) => h.toLowerCase());
  return hosts.includes(originHost) ? "same_origin" : "cross_origin";
}
