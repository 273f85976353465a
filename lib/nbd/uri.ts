// NBD URIs (nbd://, nbds://, nbd+unix://, nbds+unix://), read strictly and rebuilt: the one
// parser for the hub's sources and restore destinations and for its own NBD client
// (docs/decisions/009-source-safety.md). Pure. The tools (libnbd) parse URIs with their own
// parser; so the checks run on our reading and the tools get a URI rebuilt from it, never the
// caller's string: what was checked is what is connected to. Only what the hub needs is
// accepted: TCP to an allowed host and port, or a Unix socket (`?socket=`, checked against
// folders by lib/backup/nbd-source.ts), with or without TLS; no user names, no other query
// parameter (libnbd's tls-psk-file, tls-certificates … name files on the hub).

import { validHost, validPort } from "@/lib/config/host-rules";

export const NBD_DEFAULT_PORT = 10809;

export type NbdAddress =
  | { transport: "tcp"; tls: boolean; host: string; port: number; exportName: string }
  | { transport: "unix"; tls: boolean; socket: string; exportName: string };

/** Why a URI is refused; `code` is the API's (source_not_allowed, or validation_failed). */
export class NbdUriRefused extends Error {
  constructor(
    public readonly code: "source_not_allowed" | "validation_failed",
    message: string,
    public readonly hint: string,
  ) {
    super(message);
    this.name = "NbdUriRefused";
  }
}

const SOCKET_PATH = /^\/[A-Za-z0-9._/+-]*$/;
const FILE_PARAMS = new Set(["tls-psk-file", "tls-certificates", "tls-username", "tls-verify-peer", "tls-hostname"]);
const SCHEMES: Record<string, { transport: "tcp" | "unix"; tls: boolean }> = {
  "nbd:": { transport: "tcp", tls: false },
  "nbds:": { transport: "tcp", tls: true },
  "nbd+unix:": { transport: "unix", tls: false },
  "nbds+unix:": { transport: "unix", tls: true },
};

/** Any `nbd…://` string is taken for an NBD URI (and refused if its scheme is not one we use). */
export function isNbdUri(source: string): boolean {
  return /^nbds?(\+[a-z0-9]+)?:\/\//i.test(source);
}

/** A socket path the tools read the same way we do: absolute, plain characters only. */
export function isPlainSocketPath(socket: string): boolean {
  return SOCKET_PATH.test(socket);
}

const refuse = (message: string, hint = "an nbd://host:port/export or nbd+unix:///export?socket=PATH URI") =>
  new NbdUriRefused("source_not_allowed", message, hint);

/** Parse an NBD URI strictly; throws NbdUriRefused saying what is not accepted. */
export function parseNbdUri(source: string): NbdAddress {
  // Whitespace, control characters and backslashes read differently in different parsers.
  if (/[\s\\\u0000-\u001f\u007f]/.test(source)) {
    throw refuse("the NBD URI holds spaces, control characters or backslashes");
  }
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new NbdUriRefused("validation_failed", "not a valid NBD URI", "an nbd://host:port/export URI");
  }
  const scheme = SCHEMES[url.protocol.toLowerCase()];
  if (!scheme) {
    const name = url.protocol.slice(0, -1);
    throw refuse(`the scheme ${name} is not accepted; use nbd://, nbds://, nbd+unix:// or nbds+unix://`);
  }
  // Also an "@" the URL parser did not take for a user name: another parser might.
  if (url.username || url.password || source.split("?")[0].includes("@")) {
    throw refuse("user names in NBD URIs are not accepted");
  }
  if (source.includes("#")) throw refuse("NBD URIs with a #fragment are not accepted");
  let exportName: string;
  try {
    exportName = decodeURIComponent(url.pathname.replace(/^\//, ""));
  } catch {
    throw refuse("the export name is not valid percent-encoding");
  }
  if (/[\u0000-\u001f\u007f]/.test(exportName) || Buffer.byteLength(exportName) > 4096) {
    throw refuse("the export name holds control characters or is over 4096 bytes");
  }
  const params = [...url.searchParams.keys()];
  for (const name of params) {
    if (FILE_PARAMS.has(name)) {
      const why = "it names a file on the hub or sets up TLS the hub decides";
      throw refuse(`query parameter ${name} is not accepted: ${why}`);
    }
    if (name !== "socket") throw refuse(`query parameter ${name} is not accepted`);
  }
  if (scheme.transport === "unix") {
    if (url.host !== "") throw refuse("an nbd+unix:// URI names no host: nbd+unix:///export?socket=PATH");
    const sockets = url.searchParams.getAll("socket");
    if (sockets.length !== 1) throw refuse("an nbd+unix:// URI needs exactly one socket=PATH");
    const socket = sockets[0];
    if (!isPlainSocketPath(socket)) throw refuse("socket must be an absolute path of letters, digits and . _ / + -");
    return { transport: "unix", tls: scheme.tls, socket, exportName };
  }
  if (params.length > 0) throw refuse("socket= is only for nbd+unix:// URIs");
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (!host || !validHost(host)) throw refuse("the NBD URI needs a plain host name or IP address");
  const port = url.port === "" ? NBD_DEFAULT_PORT : validPort(url.port);
  if (port === null) throw refuse("the NBD URI's port must be from 1 to 65535");
  return { transport: "tcp", tls: scheme.tls, host, port, exportName };
}

/** The URI the tools get: rebuilt from what was checked (for Unix, the socket's real path). */
export function canonicalNbdUri(parsed: NbdAddress): string {
  const exportPart = encodeURIComponent(parsed.exportName);
  const scheme = parsed.tls ? "nbds" : "nbd";
  if (parsed.transport === "unix") return `${scheme}+unix:///${exportPart}?socket=${parsed.socket}`;
  const host = parsed.host.includes(":") ? `[${parsed.host}]` : parsed.host;
  return `${scheme}://${host}:${parsed.port}/${exportPart}`;
}
