// nbd_exports rows: one per qemu-nbd lifecycle (starting → ready → stopping → stopped, or
// crashed). Shaping a row into the API's Export, and the writes that end a row. An ending
// write only touches a row that is still live, so a second writer (a reconciler in another
// process, a late exit event) can never turn "stopped" back into "crashed" or the reverse.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import type { NbdExport } from "@/lib/generated/prisma/client";
import { LIVE_STATUSES } from "./port-pool";
import type { ExportInfo, ExportStatus } from "./types";

export type ExportRow = NbdExport;

function isLive(status: string): boolean {
  return (LIVE_STATUSES as readonly string[]).includes(status);
}

/**
 * What a client connects to: `nbds://` when the export requires TLS; an export only the hub uses
 * listens on loopback, whatever host clients are told.
 */
export function exportUri(row: Pick<ExportRow, "tls" | "hubOnly" | "port" | "exportName">, nbdHost: string): string {
  const host = row.hubOnly ? "127.0.0.1" : nbdHost;
  return `${row.tls ? "nbds" : "nbd"}://${host}:${row.port}/${row.exportName}`;
}

export function toExportInfo(row: ExportRow, nbdHost: string, now = Date.now()): ExportInfo {
  const live = isLive(row.status);
  const since = row.readyAt ?? row.startedAt;
  return {
    port: row.port,
    exportName: row.exportName,
    filePath: row.filePath,
    pid: row.pid,
    jobId: row.jobId,
    vmName: row.vmName,
    diskId: row.diskId,
    status: row.status as ExportStatus,
    startedAt: row.startedAt.toISOString(),
    uri: exportUri(row, nbdHost),
    readOnly: row.readOnly,
    ownerKind: row.ownerKind === "restore" ? "restore" : "backup",
    uptimeSeconds: live && row.status !== "starting" ? Math.max(0, Math.floor((now - since.getTime()) / 1000)) : null,
    exitCode: row.exitCode,
    error: row.error,
    stoppedAt: row.stoppedAt?.toISOString() ?? null,
  };
}

export function liveRowOn(db: Db, port: number): Promise<ExportRow | null> {
  return db.nbdExport.findFirst({ where: { port, status: { in: [...LIVE_STATUSES] } } });
}

export type RowEnding = {
  status: "stopped" | "crashed";
  exitCode?: number | null;
  exitSignal?: string | null;
  stderrTail?: string | null;
  error?: string | null;
};

/** End a live row; false when it had already ended (someone else recorded the exit first). */
export async function endRow(db: Db, id: string, ending: RowEnding): Promise<boolean> {
  const { count } = await db.nbdExport.updateMany({
    where: { id, status: { in: [...LIVE_STATUSES] } },
    data: {
      status: ending.status,
      exitCode: ending.exitCode ?? null,
      exitSignal: ending.exitSignal ?? null,
      stderrTail: ending.stderrTail || null,
      error: ending.error ?? null,
      stoppedAt: new Date(),
    },
  });
  return count > 0;
}
