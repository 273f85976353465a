// The address of the socket a request came in on. Next's route handlers and pages never see
// the socket, and `next start` only fills X-Forwarded-For from it when the client sent none
// (docs/decisions/011-trusted-proxies-and-hosts.md), so a client can claim any address.
// Node publishes every incoming request on the `http.server.request.start` diagnostics
// channel, synchronously, before the server's own handler runs: there we write the socket's
// address into a header of our own, with a per-process random key, so a client cannot forge
// it and a request that missed the stamp (none should) has no peer rather than a wrong one.
import "server-only";
import { randomBytes, timingSafeEqual } from "node:crypto";
import diagnostics from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";

const PEER_HEADER = "x-nbdhub-peer";

type Stamp = { key: string; channel: diagnostics.Channel; onRequest: (message: unknown) => void };
const KEY = Symbol.for("nbdhub.peerStamp");

function stampHolder(): { stamp?: Stamp } {
  const g = globalThis as typeof globalThis & { [KEY]?: { stamp?: Stamp } };
  g[KEY] ??= {};
  return g[KEY];
}

/** Called once by the server process at start (instrumentation); idempotent. */
export function installPeerStamp(): void {
  const holder = stampHolder();
  if (holder.stamp) return;
  const key = randomBytes(18).toString("base64url");
  const onRequest = (message: unknown) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    // Overwrites whatever the client sent under this name.
    request.headers[PEER_HEADER] = `${key} ${socket.remoteAddress ?? ""}`;
  };
  // The channel object is kept: a channel nobody references may be collected with its subscribers.
  const channel = diagnostics.channel("http.server.request.start");
  channel.subscribe(onRequest);
  holder.stamp = { key, channel, onRequest };
}

/** The socket's address as stamped by this process, or undefined (no stamp, or a forged one). */
export function peerAddressOf(headers: Pick<Headers, "get">): string | undefined {
  const stamp = stampHolder().stamp;
  const value = headers.get(PEER_HEADER);
  if (!stamp || !value) return undefined;
  const space = value.indexOf(" ");
  if (space < 0) return undefined;
  const presented = Buffer.from(value.slice(0, space));
  const expected = Buffer.from(stamp.key);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return undefined;
  return value.slice(space + 1) || undefined;
}
