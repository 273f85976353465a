// The narrow piece of the running server that access control reads outside a request's own
// arguments (pages, the client address, the password gate): the database, where the session key
// lives, the trusted proxies and the hashing limits. The server's boot (lib/runtime/boot.ts)
// hands it over once the runtime is up, so this layer never reads the runtime itself. On
// globalThis under a Symbol.for key: Next.js loads instrumentation and each route as separate
// module graphs (docs/decisions/001-runtime-on-globalthis.md).
import "server-only";
import type { Db } from "@/lib/db/prisma";

export type AuthContext = {
  db: Db;
  /** The data directory: the session key is under it (session-secret.ts). */
  dataDir: string;
  trustedProxies: readonly string[];
  passwordHash: { concurrency: number; queue: number };
};

const KEY = Symbol.for("nbdhub.authContext");
type Slot = { context?: AuthContext };

function slot(): Slot {
  const g = globalThis as typeof globalThis & { [KEY]?: Slot };
  g[KEY] ??= {};
  return g[KEY];
}

export function provideAuthContext(context: AuthContext): void {
  slot().context = context;
}

/** undefined until the server is up (pages then say it is starting; no proxy is trusted). */
export function authContext(): AuthContext | undefined {
  return slot().context;
}
