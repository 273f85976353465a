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
import { ExportManager } from "@/lib/nbd/export-manager";
import { PortPool } from "@/lib/nbd/port-pool";
import { reconcileExports, type DecideExport } from "@/lib/nbd/reconciler";
import type { ExportManagerApi, PortPoolApi } from "@/lib/nbd/types";
import { createMetrics, type Metrics } from "./metrics";
import { startPoolSampler } from "@/lib/stats/pool-sampler";
import { BackupRunner } from "@/lib/backup/runner";
import { registerInspectionMetrics } from "@/lib/backup/inspection-metrics";
import { AuditTrail } from "@/lib/auth/audit-trail";
import { startDailyPurge } from "@/lib/maintenance/daily-purge";
import { addStreamMetrics } from "@/lib/backup/stream-metrics";
import { makeRepositoryPrivate } from "@/lib/fs/private-modes";

export type Runtime = {
  config: Config;
  db: Db;
  log: Logger;
  startedAt: Date;
  ports: PortPoolApi;
  exports: ExportManagerApi;
  metrics: Metrics;
  backups: BackupRunner;
  /** Writes audit rows: aggregates anonymous refusals, keeps rows through a database outage. */
  audit: AuditTrail;
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
  /**
   * At start, for each export found still running after nbdhub went down: keep it ("adopt")
   * or stop it. The backup runner says "stop" for exports of jobs that were running.
   */
  decideExport?: DecideExport;
};

export async function startRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const log = options.log ?? createLogger("nbdhub");
  const startedAt = new Date();
  await fs.mkdir(config.dataDir, { recursive: true });
  await Promise.all([config.repositoryDir, config.sourcesDir, config.runDir].map((d) => fs.mkdir(d, { recursive: true })));
  // Backups are private (0700/0600); the embedded Postgres's folder and the sources are not ours to change.
  await makeRepositoryPrivate(config.repositoryDir, [path.join(config.dataDir, "postgres"), config.sourcesDir], log.child("files"));

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
  const audit = new AuditTrail(db, log.child("audit"));
  // Access control (issue #6): bootstrap token, NBDHUB_ADMIN_PASSWORD user, session key.
  await (await import("@/lib/auth/start")).startAuth({ config, db, log: log.child("auth") });
  await db.portPool.upsert({
    where: { id: 1 },
    create: { id: 1, minPort: config.portRange.min, maxPort: config.portRange.max },
    update: { minPort: config.portRange.min, maxPort: config.portRange.max, updatedAt: new Date() },
  });
  const ports = new PortPool(db, config, log.child("ports"));
  const metrics = createMetrics({ db, ports });
  registerInspectionMetrics(metrics);
  const exportManager = new ExportManager(db, ports, config, log.child("exports"), metrics.exportsSink);
  // Exports of backup jobs are stopped (the runner fails those jobs next); others are adopted.
  const decideExport: DecideExport = options.decideExport ?? ((exp) => BackupRunner.decideExport(db, exp.jobId));
  await reconcileExports({ db, config, log, exports: exportManager, decide: decideExport });
  const backups = new BackupRunner({ db, config, log: log.child("backup"), ports, exports: exportManager });
  await backups.start();
  addStreamMetrics(metrics, backups.events);

  const demoSources = config.demoSources
    ? ensureDemoSources(config.sourcesDir, log.child("demo")).catch((error) => {
        log.warn("could not create the demo sources", { error: error instanceof Error ? error.message : String(error) });
      })
    : Promise.resolve();

  const poolSampler = startPoolSampler({ db, config, log: log.child("pool-sampler") });
  const purge = startDailyPurge({ db, config, log: log.child("purge") });
  let stopped: Promise<void> | undefined;
  const runtime: Runtime = {
    config,
    db,
    log,
    startedAt,
    demoSources,
    ports,
    exports: exportManager,
    metrics,
    backups,
    audit,
    health: () => checkHealth(db),
    stop() {
      stopped ??= (async () => {
        // Jobs first (they end as failed through the one ending path), then any export left,
        // while the database can still record them stopping.
        await backups.stop();
        await exportManager.stopAll();
        await demoSources;
        await poolSampler.stop();
        await purge.stop();
        await audit.stop();
        await db.$disconnect();
        if (embedded && options.ownsProcess) await embedded.stop();
        log.info("stopped");
      })();
      return stopped;
    },
  };
  return runtime;
}
