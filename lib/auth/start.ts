// The start hook of access control, called once by startRuntime after migrations: the session
// key exists, the NBDHUB_BOOTSTRAP_TOKEN admin token exists, NBDHUB_ADMIN_PASSWORD makes
// user `admin` on a fresh install, and with no users the one-time setup code is printed (the
// only secret that is ever logged, by design: reading the log proves access to the machine).
import "server-only";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { checkSecretFile } from "@/lib/fs/private-modes";
import { sessionSecret, sessionSecretPath } from "./session-secret";
import { forgetSetupCode, issueSetupCode } from "./setup-code";
import { ensureBootstrapToken } from "./tokens";
import { countUsers, ensureAdminFromEnv } from "./users";

/** Where a person on this machine opens the console (a wildcard bind address is no address). */
function localConsoleUrl(config: Config): string {
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.port}`;
}

export async function startAuth({ config, db, log }: { config: Config; db: Db; log: Logger }): Promise<void> {
  await sessionSecret(config.dataDir);
  // Whoever can read the key can unseal session cookies: fix a loose mode, or refuse to start.
  await checkSecretFile(sessionSecretPath(config.dataDir), log, "the session key");
  if (config.bootstrapToken) await ensureBootstrapToken(db, config.bootstrapToken, log);
  if (config.adminPassword) await ensureAdminFromEnv(db, config.adminPassword, log);
  // The one-time setup code (setup-code.ts) exists only while setup is still to be done.
  if ((await countUsers(db)) === 0) issueSetupCode(log, localConsoleUrl(config));
  else forgetSetupCode();
}
