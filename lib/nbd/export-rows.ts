// nbd_exports rows: one per qemu-nbd lifecycle (starting → ready → stopping → stopped, or
// crashed). Shaping a row into the API's Export, and the writes that end a row. An ending
// write only touches a row that is still live, so a second writer (a reconciler in another
// process, a late exit event) can never turn "stopped" back into "crashed" or the reverse.
// A row belongs to one node (its qemu-nbd runs there): every read or write by port names the
// node, since two nodes may use the same port number (docs/decisions/026-nodes.md).
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { Prisma, type NbdExport } from "@/lib/generated/prisma/client";
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
    node: row.node,
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

export function liveRowOn(db: Db, node: string, port: number): Promise<ExportRow | null> {
  return db.nbdExport.findFirst({ where: { node, port, status: { in: [...LIVE_STATUSES] } } });
}

const LIVE = Prisma.raw(LIVE_STATUSES.map((s) => `'${s}'`).join(", "));

/** Who holds a port (its allocation's job) and the live export on it, if any. */
export type PortState = { heldBy: string | null; live: { exportName: string; jobId: string } | null };

/**
 * A start's checks of its port in one statement (raw SQL: the start path's hottest reads, and
 * no query compiler): the allocation's job and the live export on the port.
 */
export async function portState(db: Db, node: string, port: number): Promise<PortState> {
  const [row] = await db.$queryRaw<{ heldBy: string | null; liveName: string | null; liveJob: string | null }[]>`
    SELECT (SELECT job_id FROM port_allocations WHERE node = ${node} AND port = ${port}::int) AS "heldBy",
           e.export_name AS "liveName", e.job_id AS "liveJob"
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (
        SELECT export_name, job_id FROM nbd_exports
         WHERE node = ${node} AND port = ${port}::int AND status IN (${LIVE}) LIMIT 1
      ) e ON true`;
  const live = row.liveName !== null && row.liveJob !== null ? { exportName: row.liveName, jobId: row.liveJob } : null;
  return { heldBy: row.heldBy, live };
}

/** The columns a start writes in its "starting" row. */
export type StartingRow = Pick<
  ExportRow,
  | "id"
  | "node"
  | "port"
  | "exportName"
  | "jobId"
  | "pidFile"
  | "filePath"
  | "readOnly"
  | "ownerKind"
  | "tls"
  | "hubOnly"
  | "vmName"
  | "diskId"
  | "startedAt"
>;

/**
 * Insert a start's "starting" row, before its process exists. With `allocate`, the port's
 * allocation for the job goes in the same statement, and the row only when the allocation
 * did (false: the port was allocated meanwhile, nothing was written). One round trip where
 * there were two; the partial unique index on live rows still refuses a second live export
 * on the port, and then neither is written.
 */
export async function insertStartingRow(db: Db, row: StartingRow, allocate: boolean): Promise<boolean> {
  const inserted = await db.$queryRaw<{ id: string }[]>`
    WITH alloc AS (
      INSERT INTO port_allocations (node, port, job_id, vm_name, export_name)
      SELECT ${row.node}, ${row.port}::int, ${row.jobId}, ${row.vmName}, ${row.exportName} WHERE ${allocate}::boolean
      ON CONFLICT (node, port) DO NOTHING
      RETURNING port
    )
    INSERT INTO nbd_exports (id, node, port, export_name, file_path, read_only, owner_kind, tls, hub_only, job_id,
                             vm_name, disk_id, pid_file, status, started_at)
    SELECT ${row.id}, ${row.node}, ${row.port}::int, ${row.exportName}, ${row.filePath}, ${row.readOnly}::boolean, ${row.ownerKind},
           ${row.tls}::boolean, ${row.hubOnly}::boolean, ${row.jobId}, ${row.vmName}, ${row.diskId}, ${row.pidFile},
           'starting', ${row.startedAt}::timestamptz
     WHERE NOT ${allocate}::boolean OR EXISTS (SELECT 1 FROM alloc)
    RETURNING id`;
  return inserted.length > 0;
}

/** Record a started process's pid and start time (read from /proc) on its row. */
export async function recordPid(db: Db, id: string, pid: number, pidStartTime: bigint | null): Promise<void> {
  await db.$executeRaw`UPDATE nbd_exports SET pid = ${pid}::int, pid_start_time = ${pidStartTime}::bigint WHERE id = ${id}`;
}

/** Mark a start's row ready (it is "starting"; nothing else writes it until the start settles). */
export async function markReady(db: Db, id: string, readyAt: Date): Promise<void> {
  const count =
    await db.$executeRaw`UPDATE nbd_exports SET status = 'ready', ready_at = ${readyAt}::timestamptz WHERE id = ${id}`;
  if (count === 0) throw new Error(`the row of export ${id} is gone`);
}

/** A live row of the job (`marked`: this statement made it "stopping"). */
export type StoppingRow = { id: string; port: number; marked: boolean };

/**
 * Mark rows "stopping" (those of `ids` still starting or ready) and, with `jobId`, return all
 * of the job's live rows on `node`: what a stop needs before its SIGTERMs, in one round trip.
 */
export async function markStopping(
  db: Db,
  { node, ids, jobId }: { node: string; ids: string[]; jobId?: string },
): Promise<StoppingRow[]> {
  return db.$queryRaw<StoppingRow[]>`
    WITH marked AS (
      UPDATE nbd_exports SET status = 'stopping'
       WHERE id = ANY(${ids}::text[]) AND status IN ('starting', 'ready')
      RETURNING id
    )
    SELECT e.id, e.port, e.id IN (SELECT id FROM marked) AS marked
      FROM nbd_exports e
     WHERE e.node = ${node} AND e.job_id = ${jobId ?? null} AND e.status IN (${LIVE})`;
}

export type RowEnding = {
  status: "stopped" | "crashed";
  exitCode?: number | null;
  exitSignal?: string | null;
  stderrTail?: string | null;
  error?: string | null;
  /** When it ended (now when left out). */
  stoppedAt?: Date;
};

/** `ended`: this write ended the row; `released`: the port's allocation was deleted. */
export type Ended = { ended: boolean; released: boolean };

/** One row to end, and the port to release with it (null: the job keeps it). */
export type RowToEnd = { id: string; ending: RowEnding; releasePort: number | null };

/**
 * End live rows (`ended` is false for a row that had already ended: someone else recorded the
 * exit first) and release their ports in the same statement, each unless another live export
 * runs on it (what `releaseIfIdle` checks, with the rows ended here counted as ended). One round
 * trip for all the exits noticed at one moment (the export manager groups them: a stop of a
 * whole job), where there were two per exit. Results in the order of `rows`.
 */
export async function endRows(db: Db, node: string, rows: RowToEnd[]): Promise<Ended[]> {
  const col = <K extends keyof RowEnding>(k: K) => rows.map((r) => r.ending[k] ?? null);
  const ids = rows.map((r) => r.id);
  const at = rows.map((r) => (r.ending.stoppedAt ?? new Date()).toISOString());
  const out = await db.$queryRaw<(Ended & { id: string })[]>`
    WITH input AS (
      SELECT * FROM unnest(${ids}::text[], ${col("status")}::text[], ${col("exitCode")}::int[],
                           ${col("exitSignal")}::text[], ${rows.map((r) => r.ending.stderrTail || null)}::text[],
                           ${col("error")}::text[], ${at}::text[], ${rows.map((r) => r.releasePort)}::int[])
        AS t(id, status, exit_code, exit_signal, stderr_tail, error, stopped_at, release_port)
    ), ended AS (
      UPDATE nbd_exports e
         SET status = i.status, exit_code = i.exit_code, exit_signal = i.exit_signal, stderr_tail = i.stderr_tail,
             error = i.error, stopped_at = i.stopped_at::timestamptz
        FROM input i
       WHERE e.id = i.id AND e.status IN (${LIVE})
      RETURNING e.id
    ), gone AS (
      DELETE FROM port_allocations a USING input i
       WHERE a.node = ${node} AND a.port = i.release_port
         AND NOT EXISTS (SELECT 1 FROM nbd_exports x
                          WHERE x.node = ${node} AND x.port = i.release_port AND x.status IN (${LIVE}) AND x.id <> ALL(${ids}::text[]))
      RETURNING a.port
    )
    SELECT i.id, EXISTS (SELECT 1 FROM ended d WHERE d.id = i.id) AS ended,
           coalesce(i.release_port IN (SELECT port FROM gone), false) AS released
      FROM input i`;
  const byId = new Map(out.map((r) => [r.id, { ended: r.ended, released: r.released }]));
  return ids.map((id) => byId.get(id) ?? { ended: false, released: false });
}

/** End one live row; false when it had already ended (someone else recorded the exit first). */
export async function endRow(db: Db, node: string, id: string, ending: RowEnding): Promise<boolean> {
  const [done] = await endRows(db, node, [{ id, ending, releasePort: null }]);
  return done.ended;
}
