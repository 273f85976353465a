// The port pool. The truth is Postgres: a port is held by a row of port_allocations (primary
// key on port; a trigger keeps it inside port_pool's range). Allocation runs in a transaction
// under a pool-wide advisory lock, so concurrent requests, and two server processes on one
// database, queue up instead of racing for the same "first free" port.
import "server-only";
import { conflict, invalid, poolExhausted, type DomainError } from "@/lib/errors";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Prisma, PortAllocation } from "@/lib/generated/prisma/client";
import type { Logger } from "@/lib/log";
import { isPortTaken } from "./port-probe";
import type { Allocation, PoolCounts, PortPoolApi } from "./types";

type Tx = Prisma.TransactionClient;
type AllocationRequest = { jobId: string; vmName: string; exportName: string };

/** pg_advisory_xact_lock key of the pool ("nbdp"); advisory locks are per database. */
const POOL_LOCK_KEY = 0x6e626470;
/** Free candidates read per query; more only when that many are all held by other programs. */
const CANDIDATE_BATCH = 32;
/** Statuses of nbd_exports rows whose qemu-nbd is (or may be) running. */
export const LIVE_STATUSES = ["starting", "ready", "stopping"] as const;

export type ReleaseOutcome = "released" | "not_allocated" | "exported";

function toAllocation(row: PortAllocation): Allocation {
  return {
    port: row.port,
    jobId: row.jobId,
    vmName: row.vmName,
    exportName: row.exportName,
    allocatedAt: row.allocatedAt.toISOString(),
  };
}

export class PortPool implements PortPoolApi {
  /** Ports seen held by another program, so the log says it once, not on every allocation. */
  private readonly reportedForeign = new Set<number>();

  constructor(
    private readonly db: Db,
    private readonly config: Pick<Config, "portRange" | "nbdBind">,
    private readonly log: Logger,
    /** Replaceable so a test can let a taken port through and exercise qemu-nbd's own refusal. */
    private readonly probe: (port: number, bind: string) => Promise<boolean> = isPortTaken,
  ) {}

  get range(): { min: number; max: number } {
    return { ...this.config.portRange };
  }

  /**
   * Write the configured range into the pool's row (at start): the database's trigger keeps
   * allocations inside it, and the dashboard and the sampler read it from there.
   */
  async configure(): Promise<void> {
    const { min, max } = this.config.portRange;
    await this.db.portPool.upsert({
      where: { id: 1 },
      create: { id: 1, minPort: min, maxPort: max },
      update: { minPort: min, maxPort: max, updatedAt: new Date() },
    });
  }

  private locked<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    // maxWait/timeout above Prisma's 2 s/5 s defaults: 50 requests at once queue on the lock.
    return this.db.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${POOL_LOCK_KEY}::bigint)`;
        return fn(tx);
      },
      { maxWait: 15_000, timeout: 20_000 },
    );
  }

  private async foreignListener(port: number): Promise<boolean> {
    const taken = await this.probe(port, this.config.nbdBind);
    if (taken && !this.reportedForeign.has(port)) {
      this.reportedForeign.add(port);
      this.log.warn(`port ${port} is in use by another program; skipping it`, { port });
    } else if (!taken) this.reportedForeign.delete(port);
    return taken;
  }

  async allocate(req: AllocationRequest, options: { skip?: number[] } = {}): Promise<Allocation> {
    const { min, max } = this.config.portRange;
    const skip = (options.skip ?? []).filter((p) => Number.isInteger(p));
    const allocation = await this.locked(async (tx) => {
      let after = min - 1;
      const foreign: number[] = [];
      for (;;) {
        const candidates = await tx.$queryRaw<{ port: number }[]>`
          SELECT p::int AS port FROM generate_series(${after + 1}::int, ${max}::int) AS p
          WHERE NOT EXISTS (SELECT 1 FROM port_allocations a WHERE a.port = p)
            AND NOT (p = ANY(${skip}::int[]))
          ORDER BY p LIMIT ${CANDIDATE_BATCH}`;
        if (candidates.length === 0) {
          const allocated = await tx.portAllocation.count({ where: { port: { gte: min, lte: max } } });
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
            inUseByOtherPrograms: foreign,
          });
        }
        for (const { port } of candidates) {
          if (await this.foreignListener(port)) {
            foreign.push(port);
            continue;
          }
          // allocatePort() does not take the lock: a port it took a moment ago is just skipped.
          const taken = await insertIfFree(tx, port, req);
          if (taken) return taken;
        }
        after = candidates[candidates.length - 1].port;
      }
    });
    this.log.info(`allocated port ${allocation.port}`, {
      port: allocation.port,
      jobId: req.jobId,
      exportName: req.exportName,
    });
    return allocation;
  }

  /**
   * Reserve `count` ports for one job, all or none, in one transaction under the pool lock (the
   * backup runner's admission: a job admitted has its ports, so a second job admitted in the same
   * pass cannot count the same free ports). `exportNames[i]` labels the i-th port.
   */
  async reserve(count: number, req: { jobId: string; vmName: string; exportNames: string[] }): Promise<Allocation[]> {
    const { min, max } = this.config.portRange;
    const reserved = await this.locked(async (tx) => {
      const got: Allocation[] = [];
      let after = min - 1;
      for (;;) {
        const candidates = await tx.$queryRaw<{ port: number }[]>`
          SELECT p::int AS port FROM generate_series(${after + 1}::int, ${max}::int) AS p
          WHERE NOT EXISTS (SELECT 1 FROM port_allocations a WHERE a.port = p)
          ORDER BY p LIMIT ${CANDIDATE_BATCH}`;
        if (candidates.length === 0) {
          // Thrown inside the transaction: the ports taken so far are given back with it.
          const sentence = `job ${req.jobId} needs ${count} free port(s) at once in ${min}-${max}; ${got.length} free`;
          throw poolExhausted(sentence, {
            range: { min, max },
            needed: count,
          });
        }
        for (const { port } of candidates) {
          if (await this.foreignListener(port)) continue;
          const exportName = req.exportNames[got.length] ?? `${req.vmName}-reserved`;
          const taken = await insertIfFree(tx, port, { jobId: req.jobId, vmName: req.vmName, exportName });
          if (taken) got.push(taken);
          if (got.length === count) return got;
        }
        after = candidates[candidates.length - 1].port;
      }
    });
    const ports = reserved.map((a) => a.port).join(",");
    this.log.info(`reserved port(s) ${ports} for job ${req.jobId}`, { jobId: req.jobId });
    return reserved;
  }

  /** Label a port the job holds with the export about to use it; false when the job does not hold it. */
  async relabel(port: number, jobId: string, exportName: string): Promise<boolean> {
    const { count } = await this.db.portAllocation.updateMany({ where: { port, jobId }, data: { exportName } });
    return count > 0;
  }

  async allocatePort(port: number, req: AllocationRequest): Promise<Allocation> {
    const { min, max } = this.config.portRange;
    if (!Number.isInteger(port) || port < min || port > max) {
      throw invalid("port_out_of_range", `port ${port} is outside the pool range ${min}-${max}`, {
        port: `a port from ${min} to ${max}`,
      });
    }
    // No pool lock needed for one given port: the primary key decides, in a single statement.
    if (await this.foreignListener(port))
      throw conflict("port_in_use", `port ${port} is in use by another program on this host`);
    const allocation = await insertIfFree(this.db, port, req);
    if (!allocation) {
      const held = await this.db.portAllocation.findUnique({ where: { port } });
      throw conflict("port_in_use", `port ${port} is already allocated${held ? ` to job ${held.jobId}` : ""}`);
    }
    this.log.info(`allocated port ${port}`, { port, jobId: req.jobId, exportName: req.exportName });
    return allocation;
  }

  /**
   * Release unless a live export still runs on the port (the export manager releases a port
   * only after its row says the process ended, so this never blocks it on its own export).
   */
  async releaseIfIdle(port: number): Promise<ReleaseOutcome> {
    const outcome = await this.locked(async (tx): Promise<ReleaseOutcome> => {
      if (await liveExportOn(tx, [port])) return "exported";
      const { count } = await tx.portAllocation.deleteMany({ where: { port } });
      return count > 0 ? "released" : "not_allocated";
    });
    if (outcome === "released") this.log.info(`released port ${port}`, { port });
    return outcome;
  }

  /** Give back an allocation the caller itself just made for `jobId` (a start that failed). */
  async releaseOwn(port: number, jobId: string): Promise<boolean> {
    const { count } = await this.db.portAllocation.deleteMany({ where: { port, jobId } });
    if (count > 0) this.log.info(`released port ${port}`, { port, jobId });
    return count > 0;
  }

  async release(port: number): Promise<boolean> {
    const outcome = await this.releaseIfIdle(port);
    if (outcome === "exported") throw exportRunning([port]);
    return outcome === "released";
  }

  async releaseJob(jobId: string): Promise<number[]> {
    const ports = await this.locked(async (tx) => {
      const held = (
        await tx.portAllocation.findMany({ where: { jobId }, select: { port: true }, orderBy: { port: "asc" } })
      ).map((r) => r.port);
      const exported = await liveExportOn(tx, held);
      // All or nothing: a rejected request changes nothing.
      if (exported) throw exportRunning(exported);
      await tx.portAllocation.deleteMany({ where: { port: { in: held } } });
      return held;
    });
    if (ports.length) this.log.info(`released ports of job ${jobId}`, { jobId, ports: ports.join(",") });
    return ports;
  }

  async get(port: number): Promise<Allocation | null> {
    const row = await this.db.portAllocation.findUnique({ where: { port } });
    return row ? toAllocation(row) : null;
  }

  async list(): Promise<Allocation[]> {
    return (await this.db.portAllocation.findMany({ orderBy: { port: "asc" } })).map(toAllocation);
  }

  async counts(): Promise<PoolCounts> {
    const { min, max } = this.config.portRange;
    const total = max - min + 1;
    const allocated = await this.db.portAllocation.count({ where: { port: { gte: min, lte: max } } });
    return {
      range: { min, max },
      total,
      allocated,
      available: total - allocated,
      utilizationPercent: Math.round((allocated / total) * 1000) / 10,
    };
  }

  async isAllocated(port: number): Promise<boolean> {
    return (await this.db.portAllocation.count({ where: { port } })) > 0;
  }

  async portsOfJob(jobId: string): Promise<number[]> {
    return (
      await this.db.portAllocation.findMany({ where: { jobId }, select: { port: true }, orderBy: { port: "asc" } })
    ).map((r) => r.port);
  }
}

/** INSERT … ON CONFLICT DO NOTHING: the allocation, or null when the port is already held. */
async function insertIfFree(db: Tx, port: number, req: AllocationRequest): Promise<Allocation | null> {
  const rows = await db.$queryRaw<PortAllocation[]>`
    INSERT INTO port_allocations (port, job_id, vm_name, export_name) VALUES (${port}, ${req.jobId}, ${req.vmName}, ${req.exportName})
    ON CONFLICT (port) DO NOTHING
    RETURNING port, job_id AS "jobId", vm_name AS "vmName", export_name AS "exportName", allocated_at AS "allocatedAt"`;
  return rows.length ? toAllocation(rows[0]) : null;
}

async function liveExportOn(tx: Tx, ports: number[]): Promise<number[] | null> {
  if (ports.length === 0) return null;
  const rows = await tx.nbdExport.findMany({
    where: { port: { in: ports }, status: { in: [...LIVE_STATUSES] } },
    select: { port: true },
  });
  return rows.length ? rows.map((r) => r.port).sort((a, b) => a - b) : null;
}

function exportRunning(ports: number[]): DomainError {
  const list = ports.join(", ");
  return conflict(
    "export_running",
    `an export still runs on port ${list}; stop it first (POST /api/v1/nbd/qemu-nbd/stop)`,
    { ports },
  );
}
