// NBD URIs, in the form libnbd and qemu accept: nbd://host:port/export, nbds:// (TLS),
// nbd+unix:///export?socket=/path and nbds+unix://. Only `socket` is accepted as a query
// parameter: the others in use elsewhere (tls-psk-file, tls-certificates…) name files, and a
// URI typed into a web form must not make the server read files of its choosing.

export const NBD_DEFAULT_PORT = 10809;

export type NbdAddress =
  | { transport: "tcp"; host: string; port: number; exportName: string; tls: boolean }
  | { transport: "unix"; socketPath: string; exportName: string; tls: boolean };

export class NbdUriError extends Error {
  constructor(uri: string, why: string) {
    super(`invalid NBD URI ${JSON.stringify(uri)}: ${why}`);
    this.name = "NbdUriError";
  }
}

const SCHEMES: Record<string, { transport: "tcp" | "unix"; tls: boolean }> = {
  "nbd:": { transport: "tcp", tls: false },
  "nbds:": { transport: "tcp", tls: true },
  "nbd+unix:": { transport: "unix", tls: false },
  "nbds+unix:": { transport: "unix", tls: true },
};

export function parseNbdUri(uri: string): NbdAddress {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new NbdUriError(uri, "not a URI");
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) throw new NbdUriError(uri, `scheme ${url.protocol} is not nbd:, nbds:, nbd+unix: or nbds+unix:`);
  if (url.username || url.password) throw new NbdUriError(uri, "user names are not supported");
  if (url.hash) throw new NbdUriError(uri, "fragments are not allowed");
  // The export name is the path less its first "/"; "" (the default export) when absent.
  let exportName: string;
  try {
    exportName = decodeURIComponent(url.pathname.replace(/^\//, ""));
  } catch {
    throw new NbdUriError(uri, "bad percent-encoding in the export name");
  }
  const params = [...url.searchParams.keys()];
  const unknown = params.filter((k) => k !== "socket");
  if (unknown.length) throw new NbdUriError(uri, `unsupported query parameter ${unknown.join(", ")}`);
  const sockets = url.searchParams.getAll("socket");
  if (scheme.transport === "unix") {
    if (url.host) throw new NbdUriError(uri, "a unix URI has no host (use nbd+unix:///export?socket=…)");
    if (sockets.length !== 1 || !sockets[0]) throw new NbdUriError(uri, "a unix URI needs exactly one socket=");
    return { transport: "unix", socketPath: sockets[0], exportName, tls: scheme.tls };
  }
  if (sockets.length) throw new NbdUriError(uri, "socket= belongs to nbd+unix:// URIs");
  if (!url.hostname) throw new NbdUriError(uri, "no host");
  const port = url.port ? Number(url.port) : NBD_DEFAULT_PORT;
  // URL keeps IPv6 literals bracketed; net.connect wants them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { transport: "tcp", host, port, exportName, tls: scheme.tls };
}

export function formatNbdUri(address: NbdAddress): string {
  const scheme = `nbd${address.tls ? "s" : ""}`;
  const path = `/${encodeURIComponent(address.exportName)}`;
  if (address.transport === "unix") {
    return `${scheme}+unix://${path}?socket=${encodeURIComponent(address.socketPath)}`;
  }
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${scheme}://${host}:${address.port}${path}`;
}
