// The server runtime: one per server process. It owns the database connection, the port pool,
// the export manager and the backup runner. startRuntime() reads as the start's story, one step
// after another; every step that leaves something running registers how to stop it, so stop()
// (and a start that fails part-way) stops exactly that, newest first (started-parts.ts).
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";
import { AuditTrail } from "@/lib/auth/audit-trail";
import { startAuth } from "@/lib/auth/start";
import { BackupRunner } from "@/lib/backup/runner";
import type { Config } from "@/lib/config/env";
import { startEmbeddedPostgres } from "@/lib/db/embedded-postgres";
import { migrate } from "@/lib/db/migrator";
import { createDb, type Db } from "@/lib/db/prisma";
import { makeRepositoryPrivate } from "@/lib/fs/private-modes";
import { createLogger, type Logger } from "@/lib/log";
import { startDailyPurge } from "@/lib/maintenance/daily-purge";
import { ExportManager } from "@/lib/nbd/export-manager";
import { PortPool } from "@/lib/nbd/port-pool";
import { claimUnownedRows } from "@/lib/node/claim";
import { startHeartbeat, type Heartbeat } from "@/lib/node/heartbeat";
import { startControlChannel } from "@/lib/node/control";
import { nodeIdentity } from "@/lib/node/identity";
import { holdNodeLock } from "@/lib/node/rejoin";
import { startProcessHelper } from "@/lib/proc/child";
import { RestoreService } from "@/lib/restore/restore-service";
import type { ExportManagerApi, PortPoolApi } from "@/lib/nbd/types";
import { Notifier } from "@/lib/notify/notifier";
import { pruneHandlers } from "@/lib/policy/prune-nodes";
import { PolicyScheduler } from "@/lib/policy/scheduler";
import { startPoolSampler } from "@/lib/stats/pool-sampler";
import { ensureDemoSources } from "./demo-sources";
import { checkHealth, type Health } from "./health";
import { registerInspectionMetrics } from "./inspection-metrics";
import { createMetrics, type Metrics } from "./metrics";
import { watchLostNodes } from "./lost-nodes";
import { controlHandlers, ownerControl, type OwnerControl } from "./owner-control";
import { reconcile } from "./reconcile";
import { StartedParts } from "./started-parts";
import { addStreamMetrics } from "./stream-metrics";
import { messageOf } from "@/lib/messages";

export type Runtime = {
  config: Config;
  db: Db;
  log: Logger;
  startedAt: Date;
  ports: PortPoolApi;
  exports: ExportManagerApi;
  metrics: Metrics;
  backups: BackupRunner;
  restores: RestoreService;
  /** Cancel, stop, extend and release on the owning node, whichever node answers (decision 030). */
  control: OwnerControl;
  /** Runs policies' slots once each, and the prune after each run (issue 16). */
  policies: PolicyScheduler;
  /** Turns ended jobs and stale VMs into webhook deliveries, and delivers them. */
  notifier: Notifier;
  /** Writes audit rows: aggregates anonymous refusals, keeps rows through a database outage. */
  audit: AuditTrail;
  /** Resolves when the demo sources exist (or were not wanted). */
  demoSources: Promise<void>;
  health(): Promise<Health>;
  /** Stops every part (each one even when another fails); rejects naming those that failed. */
  stop(): Promise<void>;
};

export type RuntimeOptions = {
  log?: Logger;
  migrationsDir?: string;
};

export async function startRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const log = options.log ?? createLogger("nbdhub");
  const started = new StartedParts();
  try {
    return await start(config, options, log, started);
  } catch (error) {
    // Stop what this start had started (the embedded Postgres above all), then say why it failed.
    await started.stopAll(log).catch(() => undefined);
    throw error;
  }
}

async function start(config: Config, options: RuntimeOptions, log: Logger, started: StartedParts): Promise<Runtime> {
  const startedAt = new Date();
  // The process helper starts every child (lib/proc/child.ts): fork it while the server is small.
  startProcessHelper();
  await prepareDirectories(config, log);
  const databaseUrl = await startDatabase(config, log, started);
  const migrationsDir = options.migrationsDir ?? path.join(process.cwd(), "prisma", "migrations");
  const applied = await migrate(databaseUrl, migrationsDir, (m) => log.child("migrate").info(m));
  log.info(applied.length ? `database migrated (${applied.join(", ")})` : "database schema up to date");

  const db = createDb(databaseUrl);
  started.add("database connection", () => db.$disconnect());
  const audit = new AuditTrail(db, log.child("audit"));
  started.add("audit trail", () => audit.stop());
  // Access control (issue #6): session key, bootstrap token, NBDHUB_ADMIN_PASSWORD user.
  await startAuth({ config, db, log: log.child("auth") });

  const ports = new PortPool(db, config, log.child("ports"));
  await ports.configure();
  // This server is a node (issue 18): rows an upgraded single hub left without a node become
  // its own before it reconciles, and its heartbeat says it is up (docs/decisions/026-nodes.md).
  await claimNode(db, config, log);
  // It reconciles before it says it is up and takes work, and no other node recovers it
  // meanwhile: it holds its node's lock until its first heartbeat (docs/decisions/031-lost-nodes.md).
  const nodeLock = await holdNodeLock(databaseUrl, config.nodeName);
  started.add("node lock", () => nodeLock.release());
  // Stopped after everything that depends on the node (registered here, started after reconcile).
  let heartbeat: Heartbeat | undefined = undefined;
  started.add("node heartbeat", async () => heartbeat?.stop());
  const metrics = createMetrics({ db, ports });
  registerInspectionMetrics(metrics);
  const exports = new ExportManager(db, ports, config, log.child("exports"), metrics.exportsSink);
  // Stopped after the jobs (registered later, stopped first), while the database can record it.
  started.add("exports", () => exports.stopAll());
  const backups = new BackupRunner({ db, config, log: log.child("backup"), ports, exports });

  const restores = new RestoreService({ db, config, log: log.child("restore"), ports, exports });

  await reconcile({ db, config, log, exports, backups, restores });
  heartbeat = await startHeartbeat({
    db,
    node: nodeIdentity(config),
    seconds: config.nodeHeartbeatSeconds,
    log: log.child("node"),
  });
  await nodeLock.release();
  await backups.start();
  // Jobs stop first: they end as failed through the one ending path.
  started.add("backup runner", () => backups.stop());
  restores.start();
  // Restores end (failed, "interrupted by server shutdown") before the exports stop.
  started.add("restores", () => restores.stop());
  // Other nodes' requests for this node's things (and this node's for theirs) go through Postgres.
  const parts = { db, config, backups, restores, exports, ports };
  const channel = await startControlChannel({
    databaseUrl,
    node: config.nodeName,
    // A policy's prune runs on each node holding its VM's points (decision 033).
    handlers: {
      ...controlHandlers(parts),
      ...pruneHandlers({ db, config, log: log.child("policy"), audit: (entry) => audit.record(entry) }),
    },
    log: log.child("control"),
  });
  started.add("control channel", () => channel.stop());
  const control = ownerControl(parts, channel);
  // Lost nodes' jobs fail ("node lost: NAME") and re-queue here; their exports and ports are let go.
  const lostNodes = watchLostNodes({ db, config, log: log.child("recovery"), backups });
  started.add("lost-node watch", () => lostNodes.stop());
  addStreamMetrics(metrics, backups.events);
  // Policies create jobs through the runner's admission path, like POST /backups.
  const policies = new PolicyScheduler({
    db,
    config,
    log: log.child("policy"),
    startJob: (request, by, origin) => backups.create(request, by, origin),
    audit: (entry) => audit.record(entry),
    askNode: (node, action, args, timeoutMs) => channel.ask(node, action, args, timeoutMs),
  });
  await policies.start();
  started.add("policy scheduler", () => policies.stop());
  const notifier = new Notifier({ db, config, log: log.child("notify") });
  notifier.start();
  started.add("notifier", () => notifier.stop());

  const demoSources = config.demoSources
    ? ensureDemoSources(config.sourcesDir, log.child("demo")).catch((error: unknown) => {
        log.warn("could not create the demo sources", { error: messageOf(error) });
      })
    : Promise.resolve();
  started.add("demo sources", () => demoSources);
  const poolSampler = startPoolSampler({ db, config, log: log.child("pool-sampler") });
  started.add("pool sampler", () => poolSampler.stop());
  const purge = startDailyPurge({ db, config, log: log.child("purge") });
  started.add("daily purge", () => purge.stop());

  let stopped: Promise<void> | undefined;
  return {
    config,
    db,
    log,
    startedAt,
    demoSources,
    ports,
    exports,
    metrics,
    backups,
    restores,
    control,
    policies,
    notifier,
    audit,
    health: () => checkHealth(db),
    stop() {
      stopped ??= started.stopAll(log).finally(() => log.info("stopped"));
      return stopped;
    },
  };
}

/** Rows without a node (written before nodes existed) become this node's; logged when there were any. */
async function claimNode(db: Db, config: Config, log: Logger): Promise<void> {
  const claimed = await claimUnownedRows(db, config.nodeName);
  if (Object.values(claimed).some((n) => n > 0))
    log.info(`node ${config.nodeName} took over the rows written before nodes existed`, claimed);
}

/** The data, repository, sources and run folders exist; backups are private (0700/0600). */
async function prepareDirectories(config: Config, log: Logger): Promise<void> {
  await fs.mkdir(config.dataDir, { recursive: true });
  const dirs = [config.repositoryDir, config.sourcesDir, config.runDir];
  await Promise.all(dirs.map((d) => fs.mkdir(d, { recursive: true })));
  // The embedded Postgres's folder and the sources are not ours to change.
  const notOurs = [path.join(config.dataDir, "postgres"), config.sourcesDir];
  await makeRepositoryPrivate(config.repositoryDir, notOurs, log.child("files"));
}

/** DATABASE_URL, or the embedded PostgreSQL under the data directory (stopped last). */
async function startDatabase(config: Config, log: Logger, started: StartedParts): Promise<string> {
  if (config.databaseUrl) return config.databaseUrl;
  const embedded = await startEmbeddedPostgres(config.dataDir, (m) => log.child("postgres").info(m));
  started.add("embedded PostgreSQL", () => embedded.stop());
  return embedded.url;
}
