// The server runtime: one per server process (or per integration test). It owns the
// database connection, the port pool, the export manager and the backup runner, starts them
// in order (Postgres, migrations, reconciliation) and stops them in reverse.
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Config } from "@/lib/config/env";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "@/lib/db/embedded-postgres";
import { migrate } from "@/lib/db/migrator";
import { createDb, type Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { createLogger } from "@/lib/log";
import { ensureDemoSources } from "./demo-sources";
import { checkHealth, type Health } from "./health";

export type Runtime = {
  config: Config;
  db: Db;
  log: Logger;
  startedAt: Date;
  /** Resolves when the demo sources exist (or were not wanted). */
  demoSources: Promise<void>;
  health(): Promise<Health>;
  stop(): Promise<void>;
};

export type RuntimeOptions = {
  log?: Logger;
  /** True in the server process: the runtime may own signal handling and the embedded Postgres. */
  ownsProcess?: boolean;
  migrationsDir?: string;
};

export async function startRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const log = options.log ?? createLogger("nbdhub");
  const startedAt = new Date();
  await fs.mkdir(config.dataDir, { recursive: true });
  await Promise.all([config.repositoryDir, config.sourcesDir, config.runDir].map((d) => fs.mkdir(d, { recursive: true })));

  let embedded: EmbeddedPostgres | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, (m) => log.child("postgres").info(m));
    databaseUrl = embedded.url;
  }
  const migrationsDir = options.migrationsDir ?? path.join(process.cwd(), "prisma", "migrations");
  const applied = await migrate(databaseUrl, migrationsDir, (m) => log.child("migrate").info(m));
  log.info(applied.length ? `database migrated (${applied.join(", ")})` : "database schema up to date");

  const db = createDb(databaseUrl);
  await db.portPool.upsert({
    where: { id: 1 },
    create: { id: 1, minPort: config.portRange.min, maxPort: config.portRange.max },
    update: { minPort: config.portRange.min, maxPort: config.portRange.max, updatedAt: new Date() },
  });

  const demoSources = config.demoSources
    ? ensureDemoSources(config.sourcesDir, log.child("demo")).catch((error) => {
        log.warn("could not create the demo sources", { error: error instanceof Error ? error.message : String(error) });
      })
    : Promise.resolve();

  let stopped: Promise<void> | undefined;
  const runtime: Runtime = {
    config,
    db,
    log,
    startedAt,
    demoSources,
    health: () => checkHealth(db),
    stop() {
      stopped ??= (async () => {
        await demoSources;
        await db.$disconnect();
        if (embedded && options.ownsProcess) await embedded.stop();
        log.info("stopped");
      })();
      return stopped;
    },
  };
  return runtime;
}
