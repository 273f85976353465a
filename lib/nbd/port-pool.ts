// The port pool. The truth is Postgres: a port is held by a row of port_allocations (primary
// key on port; a trigger keeps it inside port_pool's range). Claims take no pool-wide lock and
// open no transaction: one statement (port-claims.ts) locks the lowest free slots of port_slots
// with SKIP LOCKED and inserts their allocations, so concurrent requests, and two server
// processes on one database, take different ports at once. The probe for a foreign listener
// runs after the claim, outside any transaction; a port found taken is given back and the next
// one claimed (docs/decisions/023-port-claims.md). Everything here is this node's (ports are
// keyed by (node, port): docs/decisions/026-nodes.md); a request for another node's port or job
// is refused (other_node).
import "server-only";
import { conflict, invalid, otherNode, poolExhausted, type DomainError } from "@/lib/errors";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { PortAllocation } from "@/lib/generated/prisma/client";
import type { Logger } from "@/lib/log";
import { isPortTaken } from "./port-probe";
import {
  claimPorts,
  releaseIfIdle,
  releaseJobIfIdle,
  type ClaimRequest,
  type ClaimRow,
  type ReleaseJobRow,
  type ReleaseRow,
} from "./port-claims";
import type { Allocation, PoolCounts, PortPoolApi } from "./types";

export { LIVE_STATUSES } from "./port-claims";

type AllocationRequest = { jobId: string; vmName: string; exportName: string };

export type ReleaseOutcome = "released" | "not_allocated" | "exported";

function toAllocation(row: PortAllocation): Allocation {
  return {
    node: row.node,
    port: row.port,
    jobId: row.jobId,
    vmName: row.vmName,
    exportName: row.exportName,
    allocatedAt: row.allocatedAt.toISOString(),
  };
}

/** What one claim gave: the allocations, or why none (too few free ports). */
type Claimed = { got: Allocation[] } | { got: null; free: number };

export class PortPool implements PortPoolApi {
  /** Ports seen held by another program, so the log says it once, not on every allocation. */
  private readonly reportedForeign = new Set<number>();

  constructor(
    private readonly db: Db,
    private readonly config: Pick<Config, "portRange" | "nbdBind" | "nodeName">,
    private readonly log: Logger,
    /** Replaceable so a test can let a taken port through and exercise qemu-nbd's own refusal. */
    private readonly probe: (port: number, bind: string) => Promise<boolean> = isPortTaken,
  ) {}

  get range(): { min: number; max: number } {
    return { ...this.config.portRange };
  }

  /** This node's name: every allocation this pool makes or releases is keyed by it. */
  get node(): string {
    return this.config.nodeName;
  }

  /**
   * Write the configured range into the pool's row (at start): the database's trigger keeps
   * allocations inside it, another makes port_slots the same range (claims lock those rows),
   * and the dashboard and the sampler read it from there.
   */
  async configure(): Promise<void> {
    const { min, max } = this.config.portRange;
    await this.db.portPool.upsert({
      where: { node: this.node },
      create: { node: this.node, minPort: min, maxPort: max },
      update: { minPort: min, maxPort: max, updatedAt: new Date() },
    });
  }

  private async foreignListener(port: number): Promise<boolean> {
    const taken = await this.probe(port, this.config.nbdBind);
    if (taken && !this.reportedForeign.has(port)) {
      this.reportedForeign.add(port);
      this.log.warn(`port ${port} is in use by another program; skipping it`, { port });
    } else if (!taken) this.reportedForeign.delete(port);
    return taken;
  }

  /**
   * `count` free ports in one statement, all or none. A port another claim committed after
   * this statement's snapshot comes back without an allocation: the rest are given back and
   * the claim runs again (a new snapshot sees that port held).
   */
  private async claim(req: Omit<ClaimRequest, "range" | "node">): Promise<Claimed> {
    for (;;) {
      const rows = await this.db.$queryRaw<ClaimRow[]>(
        claimPorts({ ...req, node: this.node, range: this.config.portRange }),
      );
      if (rows.length < req.count) return { got: null, free: rows.length };
      const got = rows.flatMap((r) =>
        r.jobId === null || r.vmName === null || r.exportName === null || r.allocatedAt === null
          ? []
          : [
              toAllocation({
                node: this.node,
                port: r.port,
                jobId: r.jobId,
                vmName: r.vmName,
                exportName: r.exportName,
                allocatedAt: r.allocatedAt,
              }),
            ],
      );
      if (got.length === req.count) return { got };
      await this.giveBack(
        got.map((a) => a.port),
        req.jobId,
      );
    }
  }

  /** Delete allocations this pool just made for `jobId` (a claim that lost a port, a foreign listener). */
  private async giveBack(ports: number[], jobId: string): Promise<void> {
    if (ports.length)
      await this.db.portAllocation.deleteMany({ where: { node: this.node, port: { in: ports }, jobId } });
  }

  /**
   * Of freshly claimed allocations, those whose port another program listens on: given back
   * (outside any transaction: the claim is committed) and added to `foreign`.
   */
  private async dropForeign(got: Allocation[], jobId: string, foreign: number[]): Promise<Allocation[]> {
    const taken = await Promise.all(got.map((a) => this.foreignListener(a.port)));
    const lost = got.filter((_, i) => taken[i]).map((a) => a.port);
    if (lost.length === 0) return got;
    await this.giveBack(lost, jobId);
    foreign.push(...lost);
    return got.filter((_, i) => !taken[i]);
  }

  async allocate(req: AllocationRequest, options: { skip?: number[] } = {}): Promise<Allocation> {
    const { min, max } = this.config.portRange;
    const skip = (options.skip ?? []).filter((p) => Number.isInteger(p));
    const foreign: number[] = [];
    for (;;) {
      const claimed = await this.claim({
        count: 1,
        skip: [...skip, ...foreign],
        jobId: req.jobId,
        vmName: req.vmName,
        exportNames: [req.exportName],
        fallbackName: req.exportName,
      });
      if (claimed.got === null) {
        const allocated = await this.db.portAllocation.count({
          where: { node: this.node, port: { gte: min, lte: max } },
        });
        const total = max - min + 1;
        const why = [
          `${allocated} of ${total} allocated`,
          foreign.length ? `${foreign.length} in use by other programs` : "",
          skip.length ? `${skip.length} skipped` : "",
        ]
          .filter(Boolean)
          .join(", ");
        throw poolExhausted(`no free port in ${min}-${max} (${why}); release a port and try again`, {
          range: { min, max },
          allocated,
          inUseByOtherPrograms: foreign.sort((a, b) => a - b),
        });
      }
      const [allocation] = await this.dropForeign(claimed.got, req.jobId, foreign);
      if (!allocation) continue;
      this.log.info(`allocated port ${allocation.port}`, {
        port: allocation.port,
        jobId: req.jobId,
        exportName: req.exportName,
      });
      return allocation;
    }
  }

  /**
   * Reserve `count` ports for one job, all or none (the backup runner's admission: a job admitted
   * has its ports, so a second job admitted in the same pass cannot count the same free ports).
   * `exportNames[i]` labels the i-th port. Ports found held by other programs are given back and
   * replaced; when too few are left, every port this call took is given back.
   */
  async reserve(count: number, req: { jobId: string; vmName: string; exportNames: string[] }): Promise<Allocation[]> {
    const { min, max } = this.config.portRange;
    const got: Allocation[] = [];
    const foreign: number[] = [];
    while (got.length < count) {
      const claimed = await this.claim({
        count: count - got.length,
        skip: foreign,
        jobId: req.jobId,
        vmName: req.vmName,
        exportNames: req.exportNames.slice(got.length),
        fallbackName: `${req.vmName}-reserved`,
      });
      if (claimed.got === null) {
        await this.giveBack(
          got.map((a) => a.port),
          req.jobId,
        );
        const sentence = `job ${req.jobId} needs ${count} free port(s) at once in ${min}-${max}; ${got.length + claimed.free} free`;
        throw poolExhausted(sentence, { range: { min, max }, needed: count });
      }
      got.push(...(await this.dropForeign(claimed.got, req.jobId, foreign)));
    }
    // Replacements for foreign ports came later: label the ports in port order, as documented.
    got.sort((a, b) => a.port - b.port);
    await this.relabelInOrder(got, req);
    const ports = got.map((a) => a.port).join(",");
    this.log.info(`reserved port(s) ${ports} for job ${req.jobId}`, { jobId: req.jobId });
    return got;
  }

  /** After replacements, make `exportNames[i]` label the i-th port again (only when they moved). */
  private async relabelInOrder(got: Allocation[], req: { jobId: string; vmName: string; exportNames: string[] }) {
    for (const [i, a] of got.entries()) {
      const want = req.exportNames[i] ?? `${req.vmName}-reserved`;
      if (a.exportName === want) continue;
      await this.relabel(a.port, req.jobId, want);
      got[i] = { ...a, exportName: want };
    }
  }

  /** Label a port the job holds with the export about to use it; false when the job does not hold it. */
  async relabel(port: number, jobId: string, exportName: string): Promise<boolean> {
    const { count } = await this.db.portAllocation.updateMany({
      where: { node: this.node, port, jobId },
      data: { exportName },
    });
    return count > 0;
  }

  async allocatePort(port: number, req: AllocationRequest): Promise<Allocation> {
    await this.checkClaimable(port);
    // No pool lock needed for one given port: the primary key decides, in a single statement.
    const allocation = await insertIfFree(this.db, this.node, port, req);
    if (!allocation) throw await this.heldError(port);
    this.log.info(`allocated port ${port}`, { port, jobId: req.jobId, exportName: req.exportName });
    return allocation;
  }

  /**
   * What `allocatePort` checks before its insert: the port is in the pool's range and no other
   * program listens on it. The export manager runs it beside its image checks and inserts the
   * allocation with the export's row (export-rows.ts insertStartingRow).
   */
  async checkClaimable(port: number): Promise<void> {
    const { min, max } = this.config.portRange;
    if (!Number.isInteger(port) || port < min || port > max) {
      throw invalid("port_out_of_range", `port ${port} is outside the pool range ${min}-${max}`, {
        port: `a port from ${min} to ${max}`,
      });
    }
    if (await this.foreignListener(port))
      throw conflict("port_in_use", `port ${port} is in use by another program on this host`);
  }

  /** The refusal of a claim of `port` that found it allocated (naming the holder when it still is). */
  async heldError(port: number): Promise<DomainError> {
    const held = await this.db.portAllocation.findUnique({ where: { node_port: { node: this.node, port } } });
    return conflict("port_in_use", `port ${port} is already allocated${held ? ` to job ${held.jobId}` : ""}`);
  }

  /**
   * Release unless a live export still runs on the port (the export manager releases a port
   * only after its row says the process ended, so this never blocks it on its own export).
   */
  async releaseIfIdle(port: number): Promise<ReleaseOutcome> {
    const [row] = await this.db.$queryRaw<ReleaseRow[]>(releaseIfIdle(this.node, port));
    const outcome: ReleaseOutcome = row.exported ? "exported" : row.released ? "released" : "not_allocated";
    if (outcome === "released") this.log.info(`released port ${port}`, { port });
    return outcome;
  }

  /** Give back an allocation the caller itself just made for `jobId` (a start that failed). */
  async releaseOwn(port: number, jobId: string): Promise<boolean> {
    const { count } = await this.db.portAllocation.deleteMany({ where: { node: this.node, port, jobId } });
    if (count > 0) this.log.info(`released port ${port}`, { port, jobId });
    return count > 0;
  }

  /** Release a port of this node (`node`, when named, must be this node: else 409 other_node). */
  async release(port: number, node?: string): Promise<boolean> {
    if (node !== undefined && node !== this.node) throw otherNode(`port ${port} of node "${node}"`, node, this.node);
    const outcome = await this.releaseIfIdle(port);
    if (outcome === "exported") throw exportRunning([port]);
    return outcome === "released";
  }

  async releaseJob(jobId: string): Promise<number[]> {
    // All or nothing: a rejected request changes nothing.
    const [{ exported, released }] = await this.db.$queryRaw<ReleaseJobRow[]>(releaseJobIfIdle(this.node, jobId));
    if (released.length === 0 && exported.length === 0) {
      // Nothing of ours: held on another node, that node's to release.
      const elsewhere = await this.db.portAllocation.findFirst({
        where: { jobId, node: { not: this.node } },
        select: { node: true },
      });
      if (elsewhere) throw otherNode(`the ports of job ${jobId}`, elsewhere.node, this.node);
    }
    if (exported.length) throw exportRunning(exported);
    if (released.length) this.log.info(`released ports of job ${jobId}`, { jobId, ports: released.join(",") });
    return released;
  }

  async get(port: number): Promise<Allocation | null> {
    const row = await this.db.portAllocation.findUnique({ where: { node_port: { node: this.node, port } } });
    return row ? toAllocation(row) : null;
  }

  /** This node's allocations, by port. */
  async list(): Promise<Allocation[]> {
    return (await this.db.portAllocation.findMany({ where: { node: this.node }, orderBy: { port: "asc" } })).map(
      toAllocation,
    );
  }

  async counts(): Promise<PoolCounts> {
    const { min, max } = this.config.portRange;
    const total = max - min + 1;
    const allocated = await this.db.portAllocation.count({ where: { node: this.node, port: { gte: min, lte: max } } });
    return {
      range: { min, max },
      total,
      allocated,
      available: total - allocated,
      utilizationPercent: Math.round((allocated / total) * 1000) / 10,
    };
  }

  async isAllocated(port: number): Promise<boolean> {
    return (await this.db.portAllocation.count({ where: { node: this.node, port } })) > 0;
  }

  async portsOfJob(jobId: string): Promise<number[]> {
    return (
      await this.db.portAllocation.findMany({
        where: { node: this.node, jobId },
        select: { port: true },
        orderBy: { port: "asc" },
      })
    ).map((r) => r.port);
  }
}

/** INSERT … ON CONFLICT DO NOTHING: the allocation, or null when the port is already held. */
async function insertIfFree(db: Db, node: string, port: number, req: AllocationRequest): Promise<Allocation | null> {
  const rows = await db.$queryRaw<PortAllocation[]>`
    INSERT INTO port_allocations (node, port, job_id, vm_name, export_name)
    VALUES (${node}, ${port}, ${req.jobId}, ${req.vmName}, ${req.exportName})
    ON CONFLICT (node, port) DO NOTHING
    RETURNING node, port, job_id AS "jobId", vm_name AS "vmName", export_name AS "exportName", allocated_at AS "allocatedAt"`;
  return rows.length ? toAllocation(rows[0]) : null;
}

function exportRunning(ports: number[]): DomainError {
  const list = ports.join(", ");
  return conflict(
    "export_running",
    `an export still runs on port ${list}; stop it first (POST /api/v1/nbd/qemu-nbd/stop)`,
    { ports },
  );
}
