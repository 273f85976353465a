// The `next start` command line, one owner for `npm start` (scripts/start.mjs) and the tests'
// launcher (tests/helpers/launch-server.ts), so both run the server the same way.

// Idle connections stay open longer than clients keep them (undici 4 s, proxies up to 60 s), so a
// client never sends a request on a connection the server is closing at that moment.
export const KEEP_ALIVE_MS = 65_000;

/** Arguments of `next start` on this host and port. */
export function nextStartArgs(host, port) {
  return ["start", "-H", host, "-p", String(port), "--keepAliveTimeout", String(KEEP_ALIVE_MS)];
}
