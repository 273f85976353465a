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
import { reconcileExports } from "@/lib/nbd/reconciler";

export async function reconcile(deps: {
  db: Db;
  config: Config;
  log: Logger;
  exports: ExportManager;
  backups: BackupRunner;
}): Promise<void> {
  const { db, config, log, exports, backups } = deps;
  // Exports of backup jobs are stopped (the runner ends those jobs next); others are adopted.
  await reconcileExports({ db, config, log, exports, decide: (exp) => decideExport(db, exp.jobId) });
  await backups.reconcile();
}
