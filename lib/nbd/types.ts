// The NBD layer's public shapes and interfaces (docs/api.md "Port pool" and "qemu-nbd exports").
// The backup runner and the routes depend only on these.
import type { EventEmitter } from "node:events";
import type { PrivateReader, PrivateReaderRequest } from "./private-reader";

export type Allocation = {
  /** The node whose port it is (ports are keyed by node and port). */
  node: string;
  port: number;
  jobId: string;
  vmName: string;
  exportName: string;
  allocatedAt: string;
};

export type PoolCounts = {
  range: { min: number; max: number };
  total: number;
  allocated: number;
  available: number;
  utilizationPercent: number;
};

export interface PortPoolApi {
  /** This node's name: the pool is its own (ports are keyed by node and port). */
  readonly node: string;
  /** First free port (skipping ports some other program listens on). Throws the conflict port_pool_exhausted. */
  allocate(
    req: { jobId: string; vmName: string; exportName: string },
    options?: { skip?: number[] },
  ): Promise<Allocation>;
  /** Hold a given port (it must be inside the range and free). Throws 409 port_in_use / 422 port_out_of_range. */
  allocatePort(port: number, req: { jobId: string; vmName: string; exportName: string }): Promise<Allocation>;
  /** `count` ports for one job, all or none. Throws 409 port_pool_exhausted when fewer are free. */
  reserve(count: number, req: { jobId: string; vmName: string; exportNames: string[] }): Promise<Allocation[]>;
  /** Release a port of this node; `node` naming another node is refused (409 other_node). */
  release(port: number, node?: string): Promise<boolean>;
  releaseJob(jobId: string): Promise<number[]>;
  get(port: number): Promise<Allocation | null>;
  list(): Promise<Allocation[]>;
  counts(): Promise<PoolCounts>;
  isAllocated(port: number): Promise<boolean>;
  portsOfJob(jobId: string): Promise<number[]>;
}

export type ExportOwnerKind = "backup" | "restore";

/** `lost`: its node was lost (no heartbeat within the lease) and another node marked it (decision 031). */
export type ExportStatus = "starting" | "ready" | "stopping" | "stopped" | "crashed" | "lost";

export type ExportInfo = {
  /** The node whose qemu-nbd it is. */
  node: string;
  port: number;
  exportName: string;
  filePath: string;
  pid: number | null;
  jobId: string;
  vmName: string;
  diskId: string;
  status: ExportStatus;
  startedAt: string;
  uri: string;
  readOnly: boolean;
  /** Whose export it is: a backup job's, or a restore's (then jobId is the restore's id). */
  ownerKind: ExportOwnerKind;
  uptimeSeconds: number | null;
  exitCode: number | null;
  error: string | null;
  /** When the process ended (null while it runs). */
  stoppedAt: string | null;
};

export type StartExportRequest = {
  port: number;
  exportName: string;
  filePath: string;
  jobId: string;
  vmName: string;
  diskId: string;
  readOnly?: boolean;
  /** "backup" unless said otherwise; a restore's exports say "restore". */
  ownerKind?: ExportOwnerKind;
  /**
   * Only the hub itself reads or writes it (a built-in mover, a copy restore): it listens on
   * 127.0.0.1 without TLS, whatever NBDHUB_NBD_BIND and NBDHUB_NBD_TLS say.
   */
  hubOnly?: boolean;
  /** When the export requires TLS: the key to use (its caller hands it out); else a new one. */
  tlsKey?: ExportTlsKey;
};

/** A TLS export's pre-shared key, as its client needs it: the identity and the key in hex. */
export type ExportTlsKey = { username: string; psk: string };

/**
 * A start's answer: the export, and (NBDHUB_NBD_TLS=required, not hub-only) its key. The key is
 * in this answer only; no later read of the export has it.
 */
export type StartedExport = ExportInfo & { tls?: ExportTlsKey };

/** Emitted as "exit" by the export manager when a qemu-nbd ends; `expected` is false for a crash. */
export type ExportExit = {
  export: ExportInfo;
  expected: boolean;
  exitCode: number | null;
  signal: string | null;
  stderrTail: string;
};

export interface ExportManagerApi extends EventEmitter {
  /** Start on a given port (allocating it for the job when free); resolves once an NBD client can connect. */
  start(req: StartExportRequest): Promise<StartedExport>;
  /** Allocate a free port and start on it; on "Address already in use" take the next port. */
  startOnFreePort(req: Omit<StartExportRequest, "port">): Promise<StartedExport>;
  /**
   * Start on a port the job reserved (PortPoolApi.reserve); the port stays the job's after the
   * export ends. Moves to another free port when another program took it (409 port_pool_exhausted
   * when none is free); 409 port_in_use when the job does not hold the port.
   */
  startOnReservedPort(req: StartExportRequest): Promise<StartedExport>;
  /**
   * SIGTERM, up to 10 s, then SIGKILL; resolves after the exit; releases the port. Returns
   * whether it exited cleanly (exit code 0). This node's port; `node` naming another node is
   * refused (409 other_node).
   */
  stop(port: number, node?: string): Promise<{ port: number; clean: boolean } | null>;
  /** Stop this node's exports of the job; 409 other_node when they run on another node only. */
  stopJob(jobId: string): Promise<{ port: number; clean: boolean }[]>;
  get(port: number): Promise<ExportInfo | null>;
  /** Every node's running exports, or one `node`'s. */
  list(node?: string): Promise<ExportInfo[]>;
  count(): Promise<number>;
  isActive(port: number): Promise<boolean>;
  /** Stop every export this process runs (server shutdown), and every private reader. */
  stopAll(): Promise<void>;
  /**
   * A private read-only qemu-nbd on a Unix socket in the run directory (no port, no row): the
   * source or previous point an incremental reads. Stopped by its caller, or at shutdown.
   */
  startReader(req: PrivateReaderRequest): Promise<PrivateReader>;
}
