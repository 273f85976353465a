// DNS rebinding: a page on evil.example whose name later resolves to 127.0.0.1 is, to the
// browser, same-origin with the console, so SameSite cookies and Origin checks see nothing
// wrong. What gives it away is the name it used: the Host header (and X-Forwarded-Host, and
// Origin) says evil.example. Requests are answered only for the names in
// NBDHUB_ALLOWED_HOSTS (loopback names, HOST, and the configured ones).
// Plain module (no server-only, no database): proxy.ts runs it for every page.
import { parseConfig } from "@/lib/config/env";

export type HostVerdict =
  { ok: true } | { ok: false; status: 421 | 403; code: "host_not_allowed" | "origin_not_allowed"; message: string };

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** "Name:port", "[v6]:port" or "v6" to the bare lower-case name; null for anything else. */
export function hostnameOf(hostHeader: string): string | null {
  const value = hostHeader.trim().toLowerCase();
  if (!value) return null;
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed) return bracketed[1];
  // More than one colon without brackets: a bare IPv6 address (no port possible).
  if ((value.match(/:/g) ?? []).length > 1) return /^[0-9a-f:.]+$/.test(value) ? value : null;
  const match = /^([a-z0-9.-]+?)\.?(?::\d{1,5})?$/.exec(value);
  return match ? match[1] : null;
}

function isAllowed(hostHeader: string, allowed: readonly string[]): boolean {
  const name = hostnameOf(hostHeader);
  return name !== null && allowed.includes(name);
}

/**
 * Host (and X-Forwarded-Host when present, as a proxy in front would send it) must name an
 * allowed host; a state-changing request's Origin must too. Both headers are checked, not
 * one chosen by trust: a client that adds an X-Forwarded-Host of its own only refuses itself.
 */
export function checkHost(method: string, headers: Headers, allowed: readonly string[]): HostVerdict {
  const host = headers.get("host");
  const forwarded = headers.get("x-forwarded-host");
  const forwardedHosts = forwarded
    ? forwarded
        .split(",")
        .map((h) => h.trim())
        .filter(Boolean)
    : [];
  for (const name of [host ?? "", ...forwardedHosts]) {
    if (!isAllowed(name, allowed)) {
      return {
        ok: false,
        status: 421,
        code: "host_not_allowed",
        message:
          `nbdhub does not answer to the host name ${JSON.stringify(name.slice(0, 100))}; ` +
          "add it to NBDHUB_ALLOWED_HOSTS if it is this console's name",
      };
    }
  }
  const origin = headers.get("origin");
  if (!SAFE_METHODS.has(method.toUpperCase()) && origin && origin !== "null") {
    let originHost: string | null = null;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = null;
    }
    if (originHost === null || !isAllowed(originHost, allowed)) {
      return {
        ok: false,
        status: 403,
        code: "origin_not_allowed",
        message:
          "this request comes from a page of a host nbdhub does not answer to (Origin); " +
          "open the console under one of NBDHUB_ALLOWED_HOSTS",
      };
    }
  }
  return { ok: true };
}

const LOOPBACK_ONLY = ["localhost", "127.0.0.1", "::1"];
let cached: { env: string | undefined; host: string | undefined; hosts: string[] } | undefined;

/**
 * The allowed names, read from the environment (proxy.ts runs before the runtime exists).
 * A bad configuration stops the runtime's start anyway; until then only loopback is served.
 */
export function allowedHostsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  if (cached && cached.env === env.NBDHUB_ALLOWED_HOSTS && cached.host === env.HOST) return cached.hosts;
  let hosts: string[];
  try {
    hosts = parseConfig(env).allowedHosts;
  } catch {
    hosts = LOOPBACK_ONLY;
  }
  cached = { env: env.NBDHUB_ALLOWED_HOSTS, host: env.HOST, hosts };
  return hosts;
}
