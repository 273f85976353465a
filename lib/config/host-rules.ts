// Entries of NBDHUB_NBD_SOURCE_HOSTS: `host` (any port), `host:port`, a bare IPv6 address
// (any port), `[v6]` or `[v6]:port`. Pure; hostRefusal matches a parsed NBD URI (lib/nbd/uri.ts) against them.

/** One entry: a host, on one port or (port null) on any. Hosts are lower-cased, IPv6 without brackets. */
export type HostRule = { host: string; port: number | null };

const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const IPV6 = /^[0-9a-f:.]+$/;

export function validHost(host: string): boolean {
  return host.includes(":") ? IPV6.test(host) : HOST_NAME.test(host);
}

export function validPort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

/** Read one NBDHUB_NBD_SOURCE_HOSTS entry: `host`, `host:port`, `::1`, `[::1]`, `[::1]:10809`. Null if bad. */
export function parseHostRule(entry: string): HostRule | null {
  const text = entry.trim().toLowerCase();
  let host: string;
  let port: number | null = null;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1];
    if (!host.includes(":")) return null;
    if (bracketed[2] !== undefined) {
      port = validPort(bracketed[2]);
      if (port === null) return null;
    }
  } else if ((text.match(/:/g) ?? []).length > 1) {
    host = text; // a bare IPv6 address: any port
  } else if (text.includes(":")) {
    const at = text.lastIndexOf(":");
    host = text.slice(0, at);
    port = validPort(text.slice(at + 1));
    if (port === null || host.includes(":")) return null;
  } else {
    host = text;
  }
  return validHost(host) ? { host, port } : null;
}

export function formatHostRule(rule: HostRule): string {
  const host = rule.host.includes(":") ? `[${rule.host}]` : rule.host;
  return rule.port === null ? host : `${host}:${rule.port}`;
}

/** Null when a TCP source's host and port are allowed; otherwise why not. */
export function hostRefusal(parsed: { host: string; port: number }, rules: HostRule[]): string | null {
  const forHost = rules.filter((r) => r.host === parsed.host);
  const listed = rules.map(formatHostRule).join(", ") || "nothing";
  if (forHost.length === 0) return `host ${parsed.host} is not in NBDHUB_NBD_SOURCE_HOSTS (${listed})`;
  if (forHost.some((r) => r.port === null || r.port === parsed.port)) return null;
  const ports = forHost.map(formatHostRule).join(", ");
  return `port ${parsed.port} of ${parsed.host} is not allowed by NBDHUB_NBD_SOURCE_HOSTS (${ports})`;
}
