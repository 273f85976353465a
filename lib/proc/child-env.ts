// The environment every child process of nbdhub gets: built from nothing, never inherited.
// The server's own environment holds secrets (NBDHUB_BOOTSTRAP_TOKEN, NBDHUB_ADMIN_PASSWORD,
// DATABASE_URL) and qemu-nbd outlives the server, so a child sees only what it needs: PATH
// to find the tools, a fixed locale (tools' messages are matched by their words), and what
// its caller adds by name (the mover's mark, for instance).
const FALLBACK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH || FALLBACK_PATH,
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    ...extra,
  };
}
