// The `next start` command line, one owner for `npm start` (scripts/start.mjs) and the tests'
// launcher (tests/helpers/launch-server.ts), so both run the server the same way.
import path from "node:path";

// Idle connections stay open longer than clients keep them (undici 4 s, proxies up to 60 s), so a
// client never sends a request on a connection the server is closing at that moment.
export const KEEP_ALIVE_MS = 65_000;

/**
 * Node options of the server process:
 * - V8's young generation at 4 MiB a semi-space instead of 16 (issue 15,
 *   docs/decisions/027-server-memory.md). The server's allocations are small and short; a smaller
 *   nursery is collected more often and keeps about 20 MiB less resident.
 * - V8's background threads (optimizing compiles, concurrent marking) sized to the machine, one
 *   fewer than its cores (`--v8-pool-size=0`), not Node's fixed 4 (issue 13,
 *   docs/decisions/034-incremental-file-reads.md). On two cores the four competed with qemu-nbd
 *   and the event loop: an incremental's data phase spent 60-100 ms of CPU compiling and marking
 *   beside them.
 */
export const SERVER_NODE_ARGS = ["--max-semi-space-size=4", "--v8-pool-size=0"];

/**
 * Environment of the server process, under the caller's own (an operator's value wins): glibc
 * malloc with at most 2 arenas instead of one per thread (8 per core), whose freed memory each
 * thread kept resident, about 25 MiB in all. Only the server gets it: its children are started
 * with an environment of their own (lib/proc/child-env.ts).
 */
export const SERVER_ENV = { MALLOC_ARENA_MAX: "2" };

/** Arguments of `next start` on this host and port. */
export function nextStartArgs(host, port) {
  return ["start", "-H", host, "-p", String(port), "--keepAliveTimeout", String(KEEP_ALIVE_MS)];
}

/**
 * The command that runs `next start` from the repository `root`: this Node with the server's
 * options (and `nodeArgs`, e.g. --cpu-prof) on Next's own CLI script.
 */
export function nextStartCommand(root, host, port, nodeArgs = []) {
  const nextScript = path.join(root, "node_modules", "next", "dist", "bin", "next");
  return [process.execPath, [...SERVER_NODE_ARGS, ...nodeArgs, nextScript, ...nextStartArgs(host, port)]];
}
