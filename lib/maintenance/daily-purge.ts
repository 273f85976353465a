// The daily purge: once at start and then every 24 hours, remove what is past its retention
// (retention.ts) and rotate the embedded PostgreSQL's log (postgres-log.ts), and say in the
// log what was removed. A run that fails (the database is away) is tried again in an hour.
import "server-only";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { firstLineOf } from "@/lib/messages";
import { embeddedPostgresLogFile, rotatePostgresLog } from "./postgres-log";
import { purgeExpiredRows, type PurgeCounts } from "./retention";

const DAY_MS = 24 * 3600 * 1000;
const RETRY_MS = 3600 * 1000;

export type DailyPurge = {
  /** Run a purge now (tests, and the first run at start). */ runNow(): Promise<void>;
  stop(): Promise<void>;
};

function describe(counts: PurgeCounts, rotatedBytes: number): string {
  const parts = [
    `${counts.auditEvents} audit rows`,
    `${counts.sessions} ended sessions`,
    `${counts.jobEvents} job events of ended jobs`,
    `${counts.exports} ended export rows`,
    `${counts.poolSamples} pool samples`,
    `${counts.repositorySamples} repository samples`,
  ];
  const rotated = rotatedBytes > 0 ? `; rotated postgres.log (${Math.round(rotatedBytes / 1024 / 1024)} MiB)` : "";
  return `purged ${parts.join(", ")} past their retention${rotated}`;
}

export function startDailyPurge({
  db,
  config,
  log,
}: {
  db: Db;
  config: Pick<Config, "retention" | "dataDir" | "databaseUrl">;
  log: Logger;
}): DailyPurge {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const schedule = (delayMs: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void runNow(), delayMs);
    timer.unref?.();
  };

  async function purgeOnce(): Promise<void> {
    try {
      const counts = await purgeExpiredRows(db, config.retention);
      // Only the embedded server's log is ours to rotate; an external one has its own rules.
      const rotated = config.databaseUrl
        ? 0
        : await rotatePostgresLog(embeddedPostgresLogFile(config.dataDir), config.retention.postgresLogMaxBytes);
      log.info(describe(counts, rotated));
      schedule(DAY_MS);
    } catch (error) {
      log.warn("the daily purge failed; trying again in an hour", { error: firstLineOf(error) });
      schedule(RETRY_MS);
    }
  }

  function runNow(): Promise<void> {
    running ??= purgeOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  schedule(0);
  return {
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
