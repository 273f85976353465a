// Is some other program already listening on a port? Try to bind it, on 127.0.0.1 and on the
// configured bind address (on Linux a listener on 0.0.0.0 blocks 127.0.0.1 and the reverse,
// but a listener on one specific other address blocks only that one). Only EADDRINUSE counts
// as taken: any other failure is left for qemu-nbd to report in its own words.
import "server-only";
import net from "node:net";

/** Resolves true when binding host:port fails with EADDRINUSE. Takes well under a millisecond. */
function isTakenOn(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE"));
    // exclusive: do not share a handle with a cluster primary; backlog 1: nothing will connect.
    server.listen({ port, host, exclusive: true, backlog: 1 }, () => server.close(() => resolve(false)));
  });
}

/** True when a port is in use on any of the addresses qemu-nbd might need. */
export async function isPortTaken(port: number, bindAddress: string): Promise<boolean> {
  const hosts = [...new Set(["127.0.0.1", bindAddress])];
  for (const host of hosts) {
    if (await isTakenOn(port, host)) return true;
  }
  return false;
}
