// Reconciliation at start: make rows, processes and ports agree again after nbdhub stopped
// without cleaning up (a crash, a SIGKILL, a power cut). Every decision is logged.
//  1. Live rows (starting/ready/stopping) of this node are checked against /proc:
//     pid alive, same start time, and a qemu-nbd with the row's pid file. A live one is adopted
//     or stopped, as `decide` says; a dead one is marked and its port released.
//  2. qemu-nbd processes whose --pid-file is under our run directory that no row accounts for
//     (nbdhub died between spawning and recording the pid, or a private reader of an
//     incremental: private-reader.ts) are ended.
//  3. Pid files and key folders (tls-<export id>) that no running export uses are removed: an
//     export's pre-shared key must not outlive its qemu-nbd.
// Port allocations without an export are left alone: the allocate API makes them on purpose.
import "server-only";
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import type { ExportManager } from "./export-manager";
import { toExportInfo } from "./export-rows";
import { LIVE_STATUSES } from "./port-pool";
import { listPids, readCmdline, readProcStat } from "@/lib/proc/stat";
import { isInsideDir, parseQemuNbdArgv } from "./qemu-nbd-command";
import { READER_FILE } from "./private-reader";
import { terminate, watchForeignProcess, within } from "./qemu-nbd-process";
import { TLS_DIR } from "./tls-keys";
import type { ExportInfo } from "./types";

export type ExportDecision = "adopt" | "stop";
export type DecideExport = (exp: ExportInfo) => Promise<ExportDecision>;

export type ReconcileReport = {
  adopted: number[];
  stopped: number[];
  markedDead: number[];
  orphansKilled: number[];
  foreignRows: number;
};

export async function reconcileExports(deps: {
  db: Db;
  config: Config;
  log: Logger;
  exports: ExportManager;
  decide?: DecideExport;
}): Promise<ReconcileReport> {
  const { db, config, exports } = deps;
  const log = deps.log.child("reconcile");
  const decide: DecideExport = deps.decide ?? (async () => "adopt");
  const report: ReconcileReport = { adopted: [], stopped: [], markedDead: [], orphansKilled: [], foreignRows: 0 };

  // Only this node's rows: another node's qemu-nbd is its own to adopt or stop (decision 026).
  const rows = await db.nbdExport.findMany({
    where: { node: config.nodeName, status: { in: [...LIVE_STATUSES] } },
    orderBy: { port: "asc" },
  });
  const stops: Promise<unknown>[] = [];
  for (const row of rows) {
    if (!row.pidFile || !isInsideDir(config.runDir, row.pidFile)) {
      // Another nbdhub (its own data directory) shares this database: its exports are its own.
      report.foreignRows += 1;
      log.info(`export on port ${row.port} belongs to another nbdhub data directory; left alone`, {
        id: row.id,
        port: row.port,
      });
      continue;
    }
    const handle = await exports.adopt(row);
    if (!handle) {
      report.markedDead.push(row.port);
      continue;
    }
    // Nobody waits for a start that was cut off, and a stop that was under way still should be.
    const decision: ExportDecision =
      row.status === "ready" ? await decide(toExportInfo(row, config.nbdHost)).catch(() => "stop" as const) : "stop";
    log.info(`qemu-nbd on port ${row.port} (pid ${row.pid}, ${row.status}) is alive: ${decision}`, {
      id: row.id,
      port: row.port,
      jobId: row.jobId,
    });
    if (decision === "stop") {
      report.stopped.push(row.port);
      stops.push(exports.stop(row.port));
    } else report.adopted.push(row.port);
  }
  await Promise.all(stops);

  report.orphansKilled = await endOrphans(config.runDir, exports.knownPids(), log);
  await removeStalePidFiles(config.runDir, exports, log);
  log.info("reconciliation done", {
    adopted: report.adopted.length,
    stopped: report.stopped.length,
    markedDead: report.markedDead.length,
    orphansKilled: report.orphansKilled.length,
  });
  return report;
}

/** qemu-nbd processes with a pid file under our run directory that we do not know: end them. */
async function endOrphans(runDir: string, known: Set<number>, log: Logger): Promise<number[]> {
  const orphans: { pid: number; startTime: bigint; pidFile: string }[] = [];
  for (const pid of await listPids()) {
    if (known.has(pid)) continue;
    const argv = await readCmdline(pid);
    const parsed = argv ? parseQemuNbdArgv(argv) : null;
    if (!parsed?.pidFile || !isInsideDir(runDir, parsed.pidFile)) continue;
    const stat = await readProcStat(pid);
    if (stat && stat.state !== "Z") orphans.push({ pid, startTime: stat.startTime, pidFile: parsed.pidFile });
  }
  await Promise.all(
    orphans.map(async ({ pid, startTime, pidFile }) => {
      log.warn(`ending orphan qemu-nbd (pid ${pid}, no row knows it)`, { pid, pidFile });
      const watch = watchForeignProcess(pid, startTime, 50);
      const { killed } = await terminate(watch, 10_000);
      if (killed) {
        log.warn(`orphan qemu-nbd (pid ${pid}) ignored SIGTERM; sent SIGKILL`, { pid });
        await within(watch.exited, 5_000);
      }
      watch.cancel();
      await fs.rm(pidFile, { force: true });
    }),
  );
  return orphans.map((o) => o.pid);
}

async function removeStalePidFiles(runDir: string, exports: ExportManager, log: Logger): Promise<void> {
  const entries = await fs.readdir(runDir).catch(() => [] as string[]);
  const inUse = new Set(exports.knownPidFiles());
  const liveExports = exports.knownExportIds();
  for (const name of entries) {
    if (TLS_DIR.test(name)) {
      if (liveExports.has(name.slice("tls-".length))) continue;
      await fs.rm(path.join(runDir, name), { recursive: true, force: true });
      log.info(`removed the key folder ${name} of an export that no longer runs`);
      continue;
    }
    // Exports' pid files, and private readers' pid files and sockets (ended above as orphans).
    if (!/^qemu-nbd-\d+-.+\.pid$/.test(name) && !READER_FILE.test(name)) continue;
    const file = path.join(runDir, name);
    if (inUse.has(file)) continue;
    await fs.rm(file, { force: true });
    log.info(`removed stale pid file ${name}`);
  }
}
