// The start hook of access control, called once by startRuntime after migrations: the session
// key exists, the NBDHUB_BOOTSTRAP_TOKEN admin token exists, and NBDHUB_ADMIN_PASSWORD makes
// user `admin` on a fresh install. Secrets are never logged.
import "server-only";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { checkSecretFile } from "@/lib/fs/private-modes";
import { sessionSecret, sessionSecretPath } from "./session-secret";
import { ensureBootstrapToken } from "./tokens";
import { countUsers, ensureAdminFromEnv } from "./users";

export async function startAuth({ config, db, log }: { config: Config; db: Db; log: Logger }): Promise<void> {
  await sessionSecret(config.dataDir);
  // Whoever can read the key can unseal session cookies: fix a loose mode, or refuse to start.
  await checkSecretFile(sessionSecretPath(config.dataDir), log, "the session key");
  if (config.bootstrapToken) await ensureBootstrapToken(db, config.bootstrapToken, log);
  if (config.adminPassword) await ensureAdminFromEnv(db, config.adminPassword, log);
  if ((await countUsers(db)) === 0) log.info("no users yet: open the console to create the first admin (/setup)");
}
