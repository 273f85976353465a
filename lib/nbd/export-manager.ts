// The export manager: the only owner of qemu-nbd processes. Starts one per export, answers
// once it is ready, records every process in nbd_exports, notices exits from the child's exit
// event (never by polling its own children), and stops with SIGTERM, 10 s, SIGKILL. A file of a
// completed backup is only ever opened read-only (backup-files.ts), whoever asks. It starts,
// adopts and stops only its own node's qemu-nbd (rows of NBDHUB_NODE_NAME); a stop of another
// node's export is refused with other_node (docs/decisions/026-nodes.md).
import "server-only";
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { promises as fs } from "node:fs";
import { GroupWrite } from "@/lib/db/group-write";
import { isUniqueViolation } from "@/lib/db/prisma-code";
import { conflict, isDomainError, otherNode, unavailable, type DomainError } from "@/lib/errors";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { writeRefusal } from "./backup-files";
import {
  endRow,
  endRows,
  exportUri,
  insertStartingRow,
  liveRowOn,
  markReady,
  markStopping,
  portState,
  recordPid,
  toExportInfo,
  type Ended,
  type ExportRow,
  type RowEnding,
  type RowToEnd,
} from "./export-rows";
import { checkExportRequest, resolveImage } from "./export-request";
import { LIVE_STATUSES, type PortPool } from "./port-pool";
import { readProcStat } from "@/lib/proc/stat";
import { bothSettled } from "@/lib/settled";
import { formatCommand, pidFileFor, QEMU_NBD, qemuNbdArgs } from "./qemu-nbd-command";
import {
  spawnQemuNbd,
  terminate,
  watchForeignProcess,
  within,
  type ExitResult,
  type RunningProcess,
} from "./qemu-nbd-process";
import { startPrivateReader, type PrivateReader, type PrivateReaderRequest } from "./private-reader";
import { waitForPidFile } from "./ready-wait";
import { isRecordedQemuNbd } from "./recorded-process";
import { isAddressInUse, startFailure } from "./start-errors";
import { Steps } from "./steps";
import { makeExportKey, removeExportKey, TLS_CREDS_ID } from "./tls-keys";
import type {
  ExportExit,
  ExportInfo,
  ExportManagerApi,
  ExportTlsKey,
  StartedExport,
  StartExportRequest,
} from "./types";
import { messageOf } from "@/lib/messages";

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
/** How long the end of an export is retried while the database is away (then the reconciler's). */
const RECORD_RETRY_MS = 120_000;

/** What the manager reports to the metrics (lib/runtime/metrics.ts). */
export type ExportMetricsSink = {
  startLatency(seconds: number): void;
  startFailed(code: string): void;
  crashed(): void;
};

type Stopped = { port: number; clean: boolean };
type HandleFields =
  | "id"
  | "node"
  | "port"
  | "jobId"
  | "exportName"
  | "pidFile"
  | "vmName"
  | "diskId"
  | "filePath"
  | "readOnly"
  | "ownerKind"
  | "tls"
  | "hubOnly";
type Handle = {
  row: Pick<ExportRow, HandleFields | "startedAt">;
  /** The port is the job's (reserved at admission): it stays allocated when this export ends. */
  keepAllocation: boolean;
  proc: RunningProcess;
  adopted: boolean;
  /** Resolves true once ready, false when the start failed. */
  started: Promise<boolean>;
  stopping: boolean;
  /** Its start has settled ready (`started` resolved true). */
  ready: boolean;
  stopResult?: Promise<Stopped | null>;
  /** Resolves once the exit is recorded: row ended, port released, "exit" emitted. */
  finished?: Promise<ExitResult>;
};

export class ExportManager extends EventEmitter implements ExportManagerApi {
  /** The processes this server runs (own children and adopted ones), by port. */
  private readonly handles = new Map<number, Handle>();
  private closing = false;
  /** Starts under way: stopAll waits for them, so none spawns a qemu-nbd after it returned. */
  private readonly inflight = new Set<Promise<unknown>>();
  /** Private readers running now (private-reader.ts): stopped at shutdown, known to the reconciler. */
  private readonly readers = new Set<PrivateReader>();
  /** Exits noticed at one moment (a job's exports stopped together) are recorded in one statement. */
  private readonly endings = new GroupWrite<RowToEnd, Ended>((rows) => endRows(this.db, this.node, rows));

  constructor(
    private readonly db: Db,
    private readonly pool: PortPool,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly metrics?: ExportMetricsSink,
  ) {
    super();
  }

  /** This node's name: the rows this manager writes, adopts and stops are this node's. */
  get node(): string {
    return this.config.nodeName;
  }

  start(req: StartExportRequest): Promise<StartedExport> {
    return this.track(() => this.startOn(req));
  }

  private async startOn(req: StartExportRequest): Promise<StartedExport> {
    const steps = new Steps();
    this.assertOpen();
    checkExportRequest(req);
    // Independent checks at once: the image, and the port's state followed by (when this start
    // would allocate the port) the probe for a foreign listener. Their errors are still
    // reported in a fixed order.
    const port = portState(this.db, this.node, req.port).then(async (state) => {
      const allocate = state.live === null && state.heldBy === null;
      const refusal = allocate
        ? await this.pool.checkClaimable(req.port).then(
            () => null,
            (e: unknown) => e,
          )
        : null;
      return { ...state, allocate, refusal };
    });
    const [image, { heldBy, live, allocate, refusal }] = await bothSettled(this.image(req), port);
    if (live)
      throw conflict(
        "port_in_use",
        `an export (${live.exportName} of job ${live.jobId}) already runs on port ${req.port}`,
      );
    if (heldBy !== null && heldBy !== req.jobId)
      throw conflict("port_in_use", `port ${req.port} is allocated to job ${heldBy}`);
    if (refusal) throw refusal;
    steps.mark("checks");
    return this.launch(req, image, { ownsAllocation: allocate, keepAllocation: false, allocate }, steps);
  }

  startOnFreePort(req: Omit<StartExportRequest, "port">): Promise<StartedExport> {
    return this.track(() => this.startOnAnyPort(req));
  }

  startOnReservedPort(req: StartExportRequest): Promise<StartedExport> {
    return this.track(() => this.startOnReserved(req));
  }

  startReader(req: PrivateReaderRequest): Promise<PrivateReader> {
    return this.track(async () => {
      this.assertOpen();
      const reader = await startPrivateReader(this.config.runDir, req);
      this.readers.add(reader);
      void reader.exited.then(() => this.readers.delete(reader));
      this.log.info("private reader started", { pid: reader.pid, file: req.file, bitmap: req.bitmap });
      // Shutdown began while it started: it must not outlive stopAll.
      if (this.closing) {
        await reader.stop();
        throw shuttingDown();
      }
      return reader;
    });
  }

  /** Run a start so that stopAll can wait for it. */
  private track<T>(start: () => Promise<T>): Promise<T> {
    const promise = start();
    const settled = promise.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    return promise;
  }

  /** The image's real path; refused when this export may not write it (a completed backup). */
  private async image(req: Pick<StartExportRequest, "filePath" | "jobId" | "readOnly">): Promise<string> {
    const file = await resolveImage(this.config.repositoryDir, req.filePath);
    if (!req.readOnly) {
      const refusal = await writeRefusal(this.db, this.config.repositoryDir, file, req.filePath, req.jobId);
      if (refusal) throw refusal;
    }
    return file;
  }

  private async startOnAnyPort(req: Omit<StartExportRequest, "port">): Promise<StartedExport> {
    const steps = new Steps();
    this.assertOpen();
    checkExportRequest({ ...req, port: this.config.portRange.min });
    const file = await this.image(req);
    const skip: number[] = [];
    for (;;) {
      // Exhaustion ends the loop: allocate() throws 409 port_pool_exhausted once all are skipped.
      const { port } = await this.pool.allocate(
        { jobId: req.jobId, vmName: req.vmName, exportName: req.exportName },
        { skip },
      );
      try {
        return await this.launch({ ...req, port }, file, { ownsAllocation: true, keepAllocation: false }, steps);
      } catch (error) {
        if (!isAddressInUse(error)) throw error;
        this.log.warn(`port ${port} was taken by another program before qemu-nbd could bind it; trying the next port`, {
          port,
        });
        skip.push(port);
      }
    }
  }

  /**
   * Start on a port the job reserved at admission. The allocation stays the job's when the
   * export ends (the job gives it back when it ends). When another program took the port since,
   * the reservation moves to the next free port: 409 port_pool_exhausted when there is none.
   */
  private async startOnReserved(req: StartExportRequest): Promise<StartedExport> {
    const steps = new Steps();
    this.assertOpen();
    checkExportRequest(req);
    const file = await this.image(req);
    const skip: number[] = [];
    let port = req.port;
    for (;;) {
      if (!(await this.pool.relabel(port, req.jobId, req.exportName))) {
        throw conflict("port_in_use", `port ${port} is not reserved for job ${req.jobId}`);
      }
      try {
        return await this.launch({ ...req, port }, file, { ownsAllocation: false, keepAllocation: true }, steps);
      } catch (error) {
        if (!isAddressInUse(error)) throw error;
        this.log.warn(`port ${port}, reserved for job ${req.jobId}, was taken by another program; moving on`);
        skip.push(port);
        const { jobId, vmName, exportName } = req;
        const next = await this.pool.allocate({ jobId, vmName, exportName }, { skip });
        await this.pool.releaseOwn(port, req.jobId);
        port = next.port;
      }
    }
  }

  private async launch(
    req: StartExportRequest,
    file: string,
    {
      ownsAllocation,
      keepAllocation,
      allocate = false,
    }: {
      ownsAllocation: boolean;
      keepAllocation: boolean;
      /** Allocate the port for the job in the statement that inserts the row (startOn). */
      allocate?: boolean;
    },
    steps: Steps,
  ): Promise<StartedExport> {
    const { port } = req;
    const id = `exp_${randomBytes(8).toString("hex")}`;
    const pidFile = pidFileFor(this.config.runDir, port, id);
    const base = { id, port, exportName: req.exportName, jobId: req.jobId, pidFile };
    const readOnly = req.readOnly ?? false;
    const ownerKind = req.ownerKind ?? "backup";
    // A hub-only export listens on loopback without TLS (docs/decisions/019-nbd-tls.md).
    const hubOnly = req.hubOnly ?? false;
    const tls = this.config.nbdTls === "required" && !hubOnly;
    const row = {
      ...base,
      node: this.node,
      filePath: file,
      readOnly,
      ownerKind,
      tls,
      hubOnly,
      vmName: req.vmName,
      diskId: req.diskId,
      startedAt: new Date(),
    };
    let inserted: boolean;
    try {
      inserted = await insertStartingRow(this.db, row, allocate);
    } catch (error) {
      // Allocated in this statement: nothing of it was written.
      if (ownsAllocation && !allocate) await this.pool.releaseOwn(port, req.jobId).catch(() => false);
      // The partial unique index: another start on this port won the race.
      if (isUniqueViolation(error)) throw conflict("port_in_use", `an export already runs on port ${port}`);
      throw error;
    }
    // Another claim took the port between the checks and the insert.
    if (!inserted) throw await this.pool.heldError(port);
    if (allocate) this.log.info(`allocated port ${port}`, { port, jobId: req.jobId, exportName: req.exportName });
    steps.mark("row");
    let key: (ExportTlsKey & { dir: string }) | null = null;
    try {
      key = tls ? await makeExportKey(this.config.runDir, id, req.tlsKey) : null;
    } catch (error) {
      await this.abandon(base, ownsAllocation);
      throw error;
    }
    const args = qemuNbdArgs({
      exportName: req.exportName,
      bind: hubOnly ? "127.0.0.1" : this.config.nbdBind,
      port,
      shared: this.config.qemuNbdShared,
      pidFile,
      cache: this.config.qemuNbdCache,
      readOnly: req.readOnly ?? false,
      file,
      ...(key ? { tls: { credsId: TLS_CREDS_ID, dir: key.dir } } : {}),
    });
    // Shutdown began while this start awaited the database: spawn nothing.
    if (this.closing) {
      await this.abandon(base, ownsAllocation);
      throw shuttingDown();
    }
    this.log.info("starting qemu-nbd", { id, port, command: formatCommand(QEMU_NBD, args) });
    const spawned = await spawnQemuNbd(args);
    steps.mark("spawn");
    if (spawned.pid === null) {
      await this.abandon(base, ownsAllocation);
      this.metrics?.startFailed("qemu_nbd_unavailable");
      throw unavailable(
        "qemu_nbd_unavailable",
        `qemu-nbd could not be started (${spawned.error}); is qemu-utils installed?`,
      );
    }
    const proc = spawned;
    let settle!: (ready: boolean) => void;
    const started = new Promise<boolean>((r) => (settle = r));
    const handle: Handle = { row, keepAllocation, proc, adopted: false, started, stopping: false, ready: false };
    this.handles.set(port, handle);
    // Recording pid and start time runs while qemu-nbd opens the image.
    const startTime = proc.startTime ?? readProcStat(proc.pid).then((stat) => stat?.startTime ?? null);
    const recorded = Promise.resolve(startTime).then(async (pidStartTime) => {
      await recordPid(this.db, id, proc.pid, pidStartTime);
      return pidStartTime;
    });
    recorded.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
    try {
      const outcome = await waitForPidFile(proc, pidFile, READY_TIMEOUT_MS);
      steps.mark("pidfile");
      const pidStartTime = await recorded;
      steps.mark("pid");
      if (outcome.kind === "timeout") throw startFailure(port, proc.stderrTail(), { timedOutMs: READY_TIMEOUT_MS });
      if (outcome.kind === "exited") throw startFailure(port, proc.stderrTail(), outcome.result);
      const readyAt = new Date();
      await markReady(this.db, id, readyAt);
      steps.mark("ready");
      this.watchExit(handle);
      handle.ready = true;
      const seconds = steps.elapsed() / 1000;
      this.metrics?.startLatency(seconds);
      const ms = Math.round(seconds * 1000);
      this.log.info(`export ready on port ${port}`, { id, port, pid: proc.pid, ms, steps: String(steps) });
      const readyRow: ExportRow = {
        ...row,
        pid: proc.pid,
        pidStartTime,
        status: "ready",
        readyAt,
        exitCode: null,
        exitSignal: null,
        error: null,
        stderrTail: null,
        stoppedAt: null,
      };
      const info = toExportInfo(readyRow, this.config.nbdHost);
      return key ? { ...info, tls: { username: key.username, psk: key.psk } } : info;
    } catch (error) {
      if (!handle.ready) {
        // Nothing of a failed start stays behind: no process, no row, no port held by this call.
        if (this.handles.get(port) === handle) this.handles.delete(port);
        proc.signal("SIGKILL");
        await Promise.all([within(proc.exited, 5000), recorded.catch(() => undefined)]);
        await this.abandon(base, ownsAllocation);
        this.metrics?.startFailed(isDomainError(error) ? error.code : "internal");
        this.log.warn(`qemu-nbd on port ${port} failed to start`, { id, port, error: messageOf(error) });
      }
      throw error;
    } finally {
      settle(handle.ready);
    }
  }

  /** Undo a start that never became ready. */
  private async abandon(row: Pick<ExportRow, "id" | "port" | "jobId" | "pidFile">, ownsAllocation: boolean) {
    await this.db.nbdExport
      .deleteMany({ where: { id: row.id } })
      .catch((e: unknown) =>
        this.log.error("could not remove a failed export's row", { id: row.id, error: String(e) }),
      );
    if (row.pidFile) await fs.rm(row.pidFile, { force: true }).catch(() => undefined);
    await this.removeKey(row.id);
    if (ownsAllocation)
      await this.pool
        .releaseOwn(row.port, row.jobId)
        .catch((e: unknown) => this.log.error("could not release a port", { port: row.port, error: String(e) }));
  }

  private watchExit(handle: Handle): void {
    handle.finished = handle.proc.exited.then((result) => this.recordExit(handle, result));
  }

  /** The one path every exit takes, expected or not. */
  private async recordExit(handle: Handle, result: ExitResult): Promise<ExitResult> {
    const { id, port } = handle.row;
    handle.proc.cancel?.();
    if (this.handles.get(port) === handle) this.handles.delete(port);
    const expected = handle.stopping;
    const stderrTail = handle.proc.stderrTail();
    const how = result.signal
      ? `signal ${result.signal}`
      : result.exitCode !== null
        ? `exit code ${result.exitCode}`
        : "exit status unknown: not our child";
    const lastLine = stderrTail.split("\n").pop();
    const error = expected
      ? null
      : `qemu-nbd (pid ${handle.proc.pid}) exited on its own (${how})${lastLine ? `: ${lastLine}` : ""}`;
    const status = expected ? "stopped" : "crashed";
    const stoppedAt = new Date();
    const ending: RowEnding = {
      status,
      exitCode: result.exitCode,
      exitSignal: result.signal,
      stderrTail,
      error,
      stoppedAt,
    };
    // Written now, or (the database is away) retried in the background: the exit is reported
    // to the runner either way, so a crash during an outage still fails its job.
    const recorded = await this.recordEnding(handle, ending);
    if (recorded === null) void this.retryEnding(handle, ending);
    if (expected) this.log.info(`qemu-nbd on port ${port} stopped (${how})`, { id, port });
    else {
      this.metrics?.crashed();
      const released = handle.keepAllocation ? "" : "; port released";
      const stderr = stderrTail || undefined;
      this.log.warn(`qemu-nbd on port ${port} crashed (${how})${released}`, { id, port, stderr });
    }
    // Ended by this write, the row says what this process knows; ended by someone else, theirs.
    const row =
      recorded?.ended === false ? await this.db.nbdExport.findUnique({ where: { id } }).catch(() => null) : null;
    const info = row ? toExportInfo(row, this.config.nbdHost) : this.infoOf(handle, ending);
    const exit: ExportExit = { export: info, expected, exitCode: result.exitCode, signal: result.signal, stderrTail };
    try {
      this.emit("exit", exit);
    } catch (e) {
      this.log.error("an exit listener failed", { error: messageOf(e) });
    }
    return result;
  }

  /** An export's key folder goes with its process, on every path (the key must not outlive it). */
  private async removeKey(id: string): Promise<void> {
    await removeExportKey(this.config.runDir, id).catch((e: unknown) =>
      this.log.error("could not remove an export's key folder", { id, error: messageOf(e) }),
    );
  }

  /**
   * End the row and give the port back (unless the job keeps it) in one statement, remove the
   * pid file and key folder; null when the database refused (retried).
   */
  private async recordEnding(handle: Handle, ending: RowEnding): Promise<Ended | null> {
    const { id, port, pidFile } = handle.row;
    // Before anything that can fail: the process is gone, its key must be too.
    await this.removeKey(id);
    try {
      const done = await this.endings.submit({ id, ending, releasePort: handle.keepAllocation ? null : port });
      if (done.released) this.log.info(`released port ${port}`, { port });
      if (pidFile) await fs.rm(pidFile, { force: true }).catch(() => undefined);
      return done;
    } catch (e) {
      const error = messageOf(e);
      this.log.error(`could not record the exit of qemu-nbd on port ${port}; retrying`, { id, error });
      return null;
    }
  }

  private async retryEnding(handle: Handle, ending: RowEnding): Promise<void> {
    const began = Date.now();
    for (let attempt = 1; Date.now() - began < RECORD_RETRY_MS; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))).unref());
      if (await this.recordEnding(handle, ending)) {
        this.log.info(`recorded the exit of qemu-nbd on port ${handle.row.port}`, { id: handle.row.id });
        return;
      }
    }
    const { id, port } = handle.row;
    this.log.error(`gave up recording the exit of qemu-nbd on port ${port}; the next start reconciles it`, { id });
  }

  /** The export as this process knows it, for an exit reported while the database is away. */
  private infoOf(handle: Handle, ending: RowEnding): ExportInfo {
    const { row } = handle;
    return {
      node: row.node,
      port: row.port,
      exportName: row.exportName,
      filePath: row.filePath,
      pid: handle.proc.pid,
      jobId: row.jobId,
      vmName: row.vmName,
      diskId: row.diskId,
      status: ending.status,
      startedAt: row.startedAt.toISOString(),
      uri: exportUri(row, this.config.nbdHost),
      readOnly: row.readOnly,
      ownerKind: row.ownerKind === "restore" ? "restore" : "backup",
      uptimeSeconds: null,
      exitCode: ending.exitCode ?? null,
      error: ending.error ?? null,
      stoppedAt: (ending.stoppedAt ?? new Date()).toISOString(),
    };
  }

  /** Stop this node's export on `port`; `node` naming another node is refused (409 other_node). */
  async stop(port: number, node?: string): Promise<Stopped | null> {
    if (node !== undefined && node !== this.node)
      throw otherNode(`the export on port ${port} of node "${node}"`, node, this.node);
    let handle = this.handles.get(port);
    if (!handle) {
      // A live row of this node that this process does not run (a missed adoption).
      const row = await liveRowOn(this.db, this.node, port);
      if (!row) return null;
      const adopted = await this.adopt(row);
      if (!adopted) return { port, clean: false };
      handle = adopted;
    }
    return this.stopHandle(handle);
  }

  /** `marked`: its row already says "stopping" (stopJob marks all of a job's ready rows at once). */
  private stopHandle(handle: Handle, marked = false): Promise<Stopped | null> {
    handle.stopResult ??= (async () => {
      // A SIGTERM sent while qemu-nbd is still starting can be lost: let the start settle first.
      if (!(await handle.started)) return null;
      const { id, port } = handle.row;
      handle.stopping = true;
      if (!marked)
        await markStopping(this.db, { node: this.node, ids: [id] }).catch((e: unknown) =>
          this.log.error("could not mark an export stopping", { id, error: String(e) }),
        );
      this.log.info(`stopping qemu-nbd on port ${port} (SIGTERM)`, { id, port, pid: handle.proc.pid });
      handle.proc.hurry?.();
      const { killed } = await terminate(handle.proc, STOP_TIMEOUT_MS);
      if (killed)
        this.log.warn(`qemu-nbd on port ${port} ignored SIGTERM for ${STOP_TIMEOUT_MS / 1000} s; sent SIGKILL`, {
          id,
          port,
          pid: handle.proc.pid,
        });
      const result = await handle.finished!;
      // An adopted process's exit code (or one's whose process helper died) went to whoever
      // reaped it: clean means it obeyed SIGTERM.
      const clean = !killed && (handle.adopted || result.notOurChild === true || result.exitCode === 0);
      return { port, clean };
    })();
    return handle.stopResult;
  }

  async stopJob(jobId: string): Promise<Stopped[]> {
    // One statement finds the job's live rows and marks "stopping" those this process runs and
    // that are ready (no start of theirs to wait for): no round trip per export before its SIGTERM.
    const own = [...this.handles.values()].filter((h) => h.row.jobId === jobId);
    const ready = own.filter((h) => h.ready && !h.stopResult).map((h) => h.row.id);
    const rows = await markStopping(this.db, { node: this.node, ids: ready, jobId });
    if (rows.length === 0 && own.length === 0) await this.refuseOtherNodes(jobId);
    const marked = new Set(rows.filter((r) => r.marked).map((r) => r.id));
    const ports = new Set([...rows.map((r) => r.port), ...own.map((h) => h.row.port)]);
    const results = await Promise.all(
      [...ports]
        .sort((a, b) => a - b)
        .map((port) => {
          const handle = this.handles.get(port);
          return handle && marked.has(handle.row.id) ? this.stopHandle(handle, true) : this.stop(port);
        }),
    );
    return results.filter((r): r is Stopped => r !== null);
  }

  /** The job's exports run on another node (and none here): 409 other_node, nothing stopped. */
  private async refuseOtherNodes(jobId: string): Promise<void> {
    const elsewhere = await this.db.nbdExport.findFirst({
      where: { jobId, node: { not: this.node }, status: { in: [...LIVE_STATUSES] } },
      select: { node: true },
    });
    if (elsewhere) throw otherNode(`the exports of job ${jobId}`, elsewhere.node, this.node);
  }

  async stopAll(): Promise<void> {
    this.closing = true;
    // A start that was under way when shutdown began ends first (refused, or ready): then it is
    // among the handles stopped here, and no qemu-nbd outlives the server's stop.
    await Promise.allSettled([...this.inflight]);
    const handles = [...this.handles.values()];
    if (handles.length) this.log.info(`stopping ${handles.length} export(s)`);
    await Promise.all([...handles.map((h) => this.stopHandle(h)), ...[...this.readers].map((r) => r.stop())]);
  }

  /**
   * Watch a live row's qemu-nbd that is not our child (after a restart). Returns null, after
   * ending the row and releasing its port, when the process is gone or is not that qemu-nbd.
   */
  async adopt(row: ExportRow): Promise<Handle | null> {
    // Another node's process is never ours to watch, mark or stop (its node reconciles it).
    if (row.node !== this.node) throw otherNode(`the export on port ${row.port}`, row.node, this.node);
    const existing = this.handles.get(row.port);
    if (existing) return existing;
    if (row.pid === null || !(await isRecordedQemuNbd(row))) {
      await endRow(this.db, this.node, row.id, {
        status: row.status === "stopping" ? "stopped" : "crashed",
        error: `qemu-nbd (pid ${row.pid ?? "unknown"}) was no longer running`,
      });
      if (row.pidFile) await fs.rm(row.pidFile, { force: true }).catch(() => undefined);
      await this.removeKey(row.id);
      await this.pool.releaseIfIdle(row.port);
      this.log.warn(
        `export on port ${row.port} had no live qemu-nbd (pid ${row.pid ?? "unknown"}); marked and port released`,
        { id: row.id, port: row.port },
      );
      return null;
    }
    const raced = this.handles.get(row.port);
    if (raced) return raced;
    const proc = watchForeignProcess(row.pid, row.pidStartTime);
    const started = Promise.resolve(true);
    const handle: Handle = { row, keepAllocation: false, proc, adopted: true, started, stopping: false, ready: false };
    this.handles.set(row.port, handle);
    this.watchExit(handle);
    this.log.info(`adopted qemu-nbd on port ${row.port}`, { id: row.id, port: row.port, pid: row.pid });
    return handle;
  }

  /** Pids of the processes this manager runs or watches. */
  knownPids(): Set<number> {
    return new Set([...[...this.handles.values()].map((h) => h.proc.pid), ...[...this.readers].map((r) => r.pid)]);
  }

  /** Ids of the exports this manager runs or watches (their key folders are in use). */
  knownExportIds(): Set<string> {
    return new Set([...this.handles.values()].map((h) => h.row.id));
  }

  /** Pid files of the processes this manager runs or watches. */
  knownPidFiles(): string[] {
    return [...this.handles.values()].flatMap((h) => (h.row.pidFile ? [h.row.pidFile] : []));
  }

  async get(port: number): Promise<ExportInfo | null> {
    // This node's live export on the port, else the latest one there (so a crash stays visible).
    const row =
      (await liveRowOn(this.db, this.node, port)) ??
      (await this.db.nbdExport.findFirst({ where: { node: this.node, port }, orderBy: { startedAt: "desc" } }));
    return row ? toExportInfo(row, this.config.nbdHost) : null;
  }

  /** Every node's running exports (the console shows them all), or one `node`'s; by port, then node. */
  async list(node?: string): Promise<ExportInfo[]> {
    const rows = await this.db.nbdExport.findMany({
      where: { status: { in: [...LIVE_STATUSES] }, ...(node === undefined ? {} : { node }) },
      orderBy: [{ port: "asc" }, { node: "asc" }],
    });
    const now = Date.now();
    return rows.map((r) => toExportInfo(r, this.config.nbdHost, now));
  }

  count(): Promise<number> {
    return this.db.nbdExport.count({ where: { node: this.node, status: { in: [...LIVE_STATUSES] } } });
  }

  async isActive(port: number): Promise<boolean> {
    return (await liveRowOn(this.db, this.node, port)) !== null;
  }

  private assertOpen(): void {
    if (this.closing) throw shuttingDown();
  }
}

function shuttingDown(): DomainError {
  return unavailable("shutting_down", "nbdhub is shutting down; no new exports are started");
}
