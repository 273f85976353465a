// The restore coordinator (docs/decisions/016-restore.md): admits a restore (admission.ts), runs
// it (export: serve each disk read-only until it expires; copy: copy-disk.ts) and ends it through
// one claimed ending (finish-restore.ts). The first ending decides, in the process (`outcome`) and
// in Postgres (`ending`); whoever decides, the restore's own coordinator runs the clean-up once
// its work has stopped. Postgres holds the truth; `active` is this process's cache of it.
import "server-only";
import { EventEmitter } from "node:events";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import { conflict, notFound, otherNode, unavailable } from "@/lib/errors";
import { messageOf } from "@/lib/messages";
import type { Logger } from "@/lib/log";
import { newDiskKeys, withDiskKeys } from "@/lib/nbd/tls-keys";
import type { ExportExit, ExportManagerApi, ExportTlsKey, PortPoolApi } from "@/lib/nbd/types";
import { admitRestore, MAX_TTL_SECONDS, planRestore, type PlannedRestoreDisk, type RestorePlan } from "./admission";
import { copyDisk } from "./copy-disk";
import { claimRestore, endingOf, finishRestore, restoreEndingConflict } from "./finish-restore";
import type { FinishRestoreDeps, RestoreOutcome } from "./finish-restore";
import { ACTIVE_RESTORE_STATUSES } from "./in-use";
import { getRestore } from "./reads";
import type { RestoreView, StartRestoreInput } from "./types";

export type RestoreDeps = { db: Db; config: Config; log: Logger; ports: PortPoolApi; exports: ExportManagerApi };

type Active = {
  id: string;
  abort: AbortController;
  /** The ending that won in this process; set once. */
  outcome?: RestoreOutcome;
  /** The restore's whole life, clean-up included. */
  life: Promise<void>;
  expiry?: NodeJS.Timeout;
};

/** How long an ending is retried while Postgres is away before the status is forced. */
const FINISH_RETRY_MS = 120_000;
const FINISH_RETRY_STOPPING_MS = 10_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export class RestoreService {
  /** `restore:<id>` is emitted when a restore changed (its event streams read it again). */
  readonly bus = new EventEmitter();
  private readonly active = new Map<string, Active>();
  private stopping = false;
  private readonly finishDeps: FinishRestoreDeps;
  private readonly onExportExit = (exit: ExportExit) => this.exportExited(exit);

  constructor(private readonly deps: RestoreDeps) {
    this.bus.setMaxListeners(0);
    this.finishDeps = { ...deps, changed: (id) => this.changed(id) };
  }

  channel(id: string): string {
    return `restore:${id}`;
  }

  private changed(id: string): void {
    this.bus.emit(this.channel(id));
  }

  /** At start, after the exports were reconciled: restores that were running end (restart). */
  async reconcile(): Promise<void> {
    const { db, log, config } = this.deps;
    // This node's restores only: another node's run there (decision 026).
    const cut = await db.restore.findMany({
      where: { node: config.nodeName, status: { in: [...ACTIVE_RESTORE_STATUSES] } },
      select: { id: true, ending: true },
    });
    for (const r of cut) {
      const outcome: RestoreOutcome =
        r.ending === "cancelling"
          ? { status: "cancelled", by: "a request cut off by a restart" }
          : { status: "failed", reason: "interrupted by restart" };
      log.info(`restore was running when the server stopped: ending it (${outcome.status})`, { restore: r.id });
      await finishRestore(this.finishDeps, r.id, outcome, true);
    }
  }

  start(): void {
    this.deps.exports.on("exit", this.onExportExit);
  }

  /** Server shutdown: every restore ends failed ("interrupted by server shutdown"), then returns. */
  async stop(): Promise<void> {
    this.stopping = true;
    const outcome: RestoreOutcome = { status: "failed", reason: "interrupted by server shutdown" };
    for (const a of this.active.values()) this.endHere(a, outcome);
    await Promise.allSettled([...this.active.values()].map((a) => a.life));
    this.deps.exports.off("exit", this.onExportExit);
  }

  async create(input: StartRestoreInput, requestedBy: string): Promise<RestoreView> {
    if (this.stopping) throw unavailable("shutting_down", "nbdhub is shutting down; no restore is started");
    const { db, config, ports } = this.deps;
    const plan = await planRestore(db, config, ports, input);
    await admitRestore(db, config.nodeName, ports, plan, requestedBy);
    const abort = new AbortController();
    const a: Active = { id: plan.id, abort, life: Promise.resolve() };
    this.active.set(plan.id, a);
    // Export mode under NBDHUB_NBD_TLS=required: a key per disk, made here so that this answer
    // (and no later one) can carry it; the export manager writes it where qemu-nbd reads it.
    const keys =
      config.nbdTls === "required" && plan.mode === "export"
        ? newDiskKeys(plan.id, plan.disks)
        : new Map<string, ExportTlsKey>();
    a.life = this.run(a, plan, keys).finally(() => {
      clearTimeout(a.expiry);
      this.active.delete(plan.id);
    });
    const what = `restore of backup job ${plan.jobId} (${plan.mode}) started by ${requestedBy}`;
    this.deps.log.info(what, { restore: plan.id });
    const view = await getRestore(db, plan.id);
    return { ...view, disks: withDiskKeys(view.disks, keys) };
  }

  /** An ending decided here (expiry, a failure, shutdown): the first one wins, the rest do nothing. */
  private endHere(a: Active, outcome: RestoreOutcome): boolean {
    if (a.outcome) return false;
    a.outcome = outcome;
    a.abort.abort();
    return true;
  }

  /** An ending asked by a request: 409 when another ending came first. */
  private async endByRequest(id: string, outcome: RestoreOutcome): Promise<RestoreView> {
    const { db } = this.deps;
    const a = this.active.get(id);
    if (!a || a.outcome) {
      const row = await db.restore.findUnique({ where: { id }, select: { status: true, ending: true, node: true } });
      if (!row) throw notFound(`restore ${id}`);
      this.refuseOtherNode(id, row.node);
      throw restoreEndingConflict(id, a?.outcome ? { status: row.status, ending: endingOf(a.outcome) } : row);
    }
    this.endHere(a, outcome);
    await claimRestore(db, id, endingOf(outcome)).catch(() => undefined); // the coordinator writes it again
    await a.life;
    return getRestore(db, id);
  }

  /** Another node's restore is that node's to end or extend: the request goes to it (lib/runtime/owner-control.ts). */
  private refuseOtherNode(id: string, node: string): void {
    if (node !== this.deps.config.nodeName) throw otherNode(`restore ${id}`, node, this.deps.config.nodeName);
  }

  cancel(id: string, by: string): Promise<RestoreView> {
    return this.endByRequest(id, { status: "cancelled", by });
  }

  /** Export mode: serve `ttlSeconds` longer, from the later of now and the current expiry. */
  async extend(id: string, ttlSeconds: number): Promise<RestoreView> {
    const { db } = this.deps;
    const row = await db.restore.findUnique({ where: { id } });
    if (!row) throw notFound(`restore ${id}`);
    this.refuseOtherNode(id, row.node);
    if (row.mode !== "export") throw conflict("not_an_export", `restore ${id} copies; only an export restore expires`);
    const a = this.active.get(id);
    if (!a || a.outcome || !(ACTIVE_RESTORE_STATUSES as readonly string[]).includes(row.status)) {
      throw restoreEndingConflict(id, a?.outcome ? { status: row.status, ending: endingOf(a.outcome) } : row);
    }
    const now = Date.now();
    const from = Math.max(now, row.expiresAt?.getTime() ?? now);
    const expiresAt = new Date(Math.min(from + ttlSeconds * 1000, now + MAX_TTL_SECONDS * 1000));
    await db.restore.updateMany({ where: { id, status: { in: [...ACTIVE_RESTORE_STATUSES] } }, data: { expiresAt } });
    if (row.status === "ready") this.arm(a, expiresAt);
    this.changed(id);
    return getRestore(db, id);
  }

  private arm(a: Active, expiresAt: Date): void {
    clearTimeout(a.expiry);
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, expiresAt.getTime() - Date.now()));
    a.expiry = setTimeout(() => void this.checkExpiry(a), wait);
    a.expiry.unref();
  }

  private async checkExpiry(a: Active): Promise<void> {
    const { db } = this.deps;
    const row = await db.restore.findUnique({ where: { id: a.id }, select: { expiresAt: true } }).catch(() => null);
    // The database is away: look again shortly; an extend may have moved the expiry meanwhile.
    if (!row) return this.arm(a, new Date(Date.now() + 1000));
    if (row.expiresAt && row.expiresAt.getTime() > Date.now()) return this.arm(a, row.expiresAt);
    this.endHere(a, { status: "expired" });
  }

  private exportExited(exit: ExportExit): void {
    if (exit.expected || exit.export.ownerKind !== "restore") return;
    const a = this.active.get(exit.export.jobId);
    if (!a) return;
    const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`;
    const { diskId, port } = exit.export;
    const reason = `the export of disk ${diskId} on port ${port} ended on its own (${how})`;
    this.endHere(a, { status: "failed", reason });
  }

  private async updateDisk(id: string, diskId: string, data: Parameters<Db["restoreDisk"]["update"]>[0]["data"]) {
    await this.deps.db.restoreDisk.update({ where: { restoreId_diskId: { restoreId: id, diskId } }, data });
    this.changed(id);
  }

  /** Serve one disk read-only on its reserved port; for a copy, then copy it. */
  private async runDisk(a: Active, plan: RestorePlan, disk: PlannedRestoreDisk, tlsKey?: ExportTlsKey): Promise<void> {
    const { exports, config, db } = this.deps;
    const { signal } = a.abort;
    await this.updateDisk(a.id, disk.diskId, { status: "exporting", startedAt: new Date() });
    if (signal.aborted) return;
    const exp = await exports.startOnReservedPort({
      port: disk.port,
      exportName: disk.exportName,
      filePath: disk.path,
      jobId: a.id,
      vmName: plan.vmName,
      diskId: disk.diskId,
      readOnly: true,
      ownerKind: "restore",
      // A copy is the hub's own reader: loopback, no TLS (docs/decisions/019-nbd-tls.md).
      hubOnly: plan.mode === "copy",
      tlsKey,
    });
    await this.updateDisk(a.id, disk.diskId, { port: exp.port, nbdUri: exp.uri, pid: exp.pid });
    if (plan.mode === "export" || signal.aborted) return;
    // A hub-only export: its URI names 127.0.0.1, without TLS.
    const sourceUri = exp.uri;
    const task = {
      restoreId: a.id,
      diskId: disk.diskId,
      pointPath: disk.path,
      sizeBytes: disk.virtualSize,
      sourceUri,
      exportPid: exp.pid ?? null,
      destination: plan.destination!,
    };
    const copyDeps = {
      db,
      runDir: config.runDir,
      changed: () => this.changed(a.id),
      stallSeconds: config.stallSeconds,
      stallFailSeconds: config.stallFailSeconds,
      onStall: (since: Date | null) =>
        since
          ? this.deps.log.warn(`disk ${disk.diskId}: no progress since ${since.toISOString()} (stalled)`, {
              restore: a.id,
            })
          : this.deps.log.info(`disk ${disk.diskId}: moving again`, { restore: a.id }),
    };
    await copyDisk(copyDeps, task, signal);
  }

  private async run(a: Active, plan: RestorePlan, keys: Map<string, ExportTlsKey>): Promise<void> {
    const { db, log } = this.deps;
    const tasks = plan.disks.map((disk) =>
      this.runDisk(a, plan, disk, keys.get(disk.diskId)).catch(async (error: unknown) => {
        if (a.abort.signal.aborted) return;
        const reason = `disk ${disk.diskId}: ${messageOf(error)}`;
        const failed = { status: "failed", error: messageOf(error), stalledSince: null };
        await this.updateDisk(a.id, disk.diskId, failed).catch(() => undefined);
        this.endHere(a, { status: "failed", reason });
      }),
    );
    await Promise.allSettled(tasks);
    if (!a.outcome && plan.mode === "copy") a.outcome = { status: "completed" };
    if (!a.outcome) {
      // Every disk is served: ready until it expires, is cancelled, crashes or the server stops.
      const expiresAt = new Date(Date.now() + plan.ttlSeconds * 1000);
      try {
        await db.restore.updateMany({ where: { id: a.id, status: "running" }, data: { status: "ready", expiresAt } });
        await db.restoreDisk.updateMany({ where: { restoreId: a.id }, data: { status: "ready" } });
        this.changed(a.id);
        this.arm(a, expiresAt);
        log.info(`restore ready: ${plan.disks.length} disk(s) served read-only until ${expiresAt.toISOString()}`, {
          restore: a.id,
        });
      } catch (error) {
        this.endHere(a, { status: "failed", reason: `could not record the export as ready: ${messageOf(error)}` });
      }
      if (!a.abort.signal.aborted) await new Promise((resolve) => a.abort.signal.addEventListener("abort", resolve));
    }
    await this.finishWithRetry(a.id, a.outcome!);
  }

  private async finishWithRetry(id: string, outcome: RestoreOutcome): Promise<void> {
    const { db, log } = this.deps;
    const began = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      const limit = this.stopping ? FINISH_RETRY_STOPPING_MS : FINISH_RETRY_MS;
      const force = Date.now() - began > limit;
      try {
        await claimRestore(db, id, endingOf(outcome), { again: true });
        await finishRestore(this.finishDeps, id, outcome, force);
        return;
      } catch (error) {
        if (force) {
          log.error("could not end the restore; the next start ends it", { restore: id, error: messageOf(error) });
          return;
        }
        if (attempt === 0 || attempt % 10 === 0) {
          log.warn("could not end the restore yet; retrying", { restore: id, attempt, error: messageOf(error) });
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
      }
    }
  }
}
