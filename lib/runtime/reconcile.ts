// The start's one reconcile step: make rows, processes and files agree again after nbdhub
// stopped without cleaning up (a crash, a SIGKILL, a power cut). First the exports (the NBD
// layer's reconciler: adopt or stop each qemu-nbd still running), then what the backup runner
// owns: movers still writing, jobs that were running, targets left behind (restart-recovery.ts).
import "server-only";
import type { BackupRunner } from "@/lib/backup/runner";
import { decideExport } from "@/lib/backup/restart-recovery";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import type { ExportManager } from "@/lib/nbd/export-manager";
import type { ExportInfo } from "@/lib/nbd/types";
import { reconcileExports } from "@/lib/nbd/reconciler";
import type { RestoreService } from "@/lib/restore/restore-service";

export async function reconcile(deps: {
  db: Db;
  config: Config;
  log: Logger;
  exports: ExportManager;
  backups: BackupRunner;
  restores: RestoreService;
}): Promise<void> {
  const { db, config, log, exports, backups, restores } = deps;
  // Exports of backup jobs and of restores are stopped (their owners are ended next); others
  // (allocated through the port API) are adopted.
  const decide = async (exp: ExportInfo) => (exp.ownerKind === "restore" ? "stop" : decideExport(db, exp.jobId));
  await reconcileExports({ db, config, log, exports, decide });
  // Orphan movers (nbdcopy of a backup or a restore) are ended here, before restores remove outputs.
  await backups.reconcile();
  await restores.reconcile();
}
