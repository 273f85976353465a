// Who is on the other end: the socket's address (lib/auth/peer.ts), walked back through
// X-Forwarded-For only while each hop is a proxy listed in NBDHUB_TRUSTED_PROXIES, as
// Express's proxy-addr does. A client that sends X-Forwarded-For itself is not a trusted
// proxy, so what it claims is ignored. Decision: docs/decisions/011-trusted-proxies-and-hosts.md.
import "server-only";
import { BlockList, isIP } from "node:net";
import { authContext } from "./context";
import { peerAddressOf } from "./peer";

export type ClientAddress = {
  /** The client's address, or undefined when this request carries no peer stamp. */
  address: string | undefined;
  /**
   * The request came from this machine and nothing says it was relayed: the socket is
   * loopback, the trusted hops all are, and no forwarding header names anyone else (a proxy
   * on this machine that is not configured as trusted still gives itself away).
   */
  local: boolean;
};

/** "::ffff:1.2.3.4" is IPv4 in IPv6 clothing; "fe80::1%eth0" carries a zone. */
export function normalizeAddress(value: string): string | undefined {
  let v = value.trim().replace(/^\[(.*)\](?::\d+)?$/, "$1");
  // "1.2.3.4:5678" (some proxies add the port)
  if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(":"));
  v = v.replace(/%.*$/, "").toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(v);
  if (mapped) v = mapped[1];
  return isIP(v) ? v : undefined;
}

function isLoopback(address: string): boolean {
  return isIP(address) === 4 ? address.startsWith("127.") : address === "::1";
}

const blockLists = new Map<string, BlockList>();

/** The configured proxies as a BlockList (cached per configuration). */
function trustedProxyList(entries: readonly string[]): BlockList {
  const cacheKey = entries.join(",");
  let list = blockLists.get(cacheKey);
  if (!list) {
    list = new BlockList();
    for (const entry of entries) {
      const [address, prefix] = entry.split("/");
      const family = isIP(address) === 6 ? "ipv6" : "ipv4";
      if (prefix === undefined) list.addAddress(address, family);
      else list.addSubnet(address, Number(prefix), family);
    }
    blockLists.set(cacheKey, list);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  return list.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
}

/** Addresses named by `Forwarded: for=…` (RFC 7239); "unknown" and obfuscated names count as not loopback. */
function forwardedFor(header: string): string[] {
  return [...header.matchAll(/for\s*=\s*"?([^";,]+)"?/gi)].map((m) => m[1].trim());
}

/** `peer` is the socket's address (undefined when unknown); pure, for tests. */
export function resolveClientAddress(
  peer: string | undefined,
  headers: Pick<Headers, "get">,
  trusted: readonly string[],
): ClientAddress {
  const socketAddress = peer ? normalizeAddress(peer) : undefined;
  if (!socketAddress) return { address: undefined, local: false };
  const list = trustedProxyList(trusted);
  const hops = (headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);
  let client = socketAddress;
  let local = isLoopback(socketAddress);
  while (isTrusted(list, client) && hops.length > 0) {
    const next = normalizeAddress(hops.pop() as string);
    if (!next) break;
    client = next;
    local &&= isLoopback(next);
  }
  // What no trusted proxy vouches for may still tell that the request was relayed.
  const claimed = [...hops, headers.get("x-real-ip") ?? "", ...forwardedFor(headers.get("forwarded") ?? "")];
  const relayedFromElsewhere = claimed.filter(Boolean).some((c) => {
    const address = normalizeAddress(c);
    return !address || !isLoopback(address);
  });
  if (relayedFromElsewhere) local = false;
  return { address: client, local };
}

/** The client of this request under the running configuration (no proxy trusted before the server is up). */
export function clientAddressOf(headers: Pick<Headers, "get">): ClientAddress {
  return resolveClientAddress(peerAddressOf(headers), headers, authContext()?.trustedProxies ?? []);
}
