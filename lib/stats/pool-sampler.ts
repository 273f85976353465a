// Samples this node's port pool every `config.poolSampleSeconds` into pool_samples, for the dashboard's
// utilisation charts and bytes-per-hour. Old samples are removed by the daily purge
// (lib/maintenance, NBDHUB_RETENTION_POOL_SAMPLES_DAYS).
// Started by the runtime once the database is ready; stop() waits for a sample in flight.
import "server-only";
import type { Config } from "@/lib/config/env";
import { prismaCode } from "@/lib/db/prisma-code";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { firstLineOf } from "@/lib/messages";
import { repositoryView } from "./repository";

/** How far back a just-created job is looked at, to cover commits racing a sample. */
const RECENT_MS = 60 * 1000;
const ACTIVE_JOB = ["queued", "running"];
const ACTIVE_EXPORT = ["starting", "ready", "stopping"];

export type PoolSampler = { stop(): Promise<void>; /** Take one sample now (tests). */ sampleNow(): Promise<void> };

type DiskRow = { jobId: string; diskId: string; transferredBytes: bigint; job: { status: string } };

/**
 * Bytes moved since the last sample, from the disks' transferred-byte counters. A disk's bytes
 * count once: the difference to what the previous sample saw, or all of them for a disk that
 * appeared since (a job shorter than the interval still counts). The first sample after a
 * start only takes the baseline, so a restart does not count a running job twice.
 */
function createBytesMovedCounter() {
  const seen = new Map<string, bigint>();
  const settled = new Map<string, number>();
  let baseline = true;
  return {
    jobIdsInFlight: () => [...new Set([...seen.keys()].map((k) => k.slice(0, k.lastIndexOf("/"))))],
    count(rows: DiskRow[], nowMs: number, keepSettledMs: number): bigint {
      let moved = 0n;
      const returned = new Set<string>();
      for (const row of rows) {
        const key = `${row.jobId}/${row.diskId}`;
        if (settled.has(key)) continue;
        returned.add(key);
        const before = seen.get(key) ?? (baseline ? row.transferredBytes : 0n);
        if (row.transferredBytes > before) moved += row.transferredBytes - before;
        if (ACTIVE_JOB.includes(row.job.status)) seen.set(key, row.transferredBytes);
        else {
          seen.delete(key);
          settled.set(key, nowMs);
        }
      }
      for (const key of seen.keys()) if (!returned.has(key)) seen.delete(key); // job deleted
      for (const [key, at] of settled) if (nowMs - at > keepSettledMs) settled.delete(key);
      baseline = false;
      return moved;
    },
  };
}

type SamplerConfig = Pick<
  Config,
  "nodeName" | "poolSampleSeconds" | "portRange" | "repositoryDir" | "repositoryReserveBytes"
>;

/** Repository use is sampled at most this often (it stats every target). */
const REPOSITORY_EVERY_MS = 60_000;

export function startPoolSampler({ db, config, log }: { db: Db; config: SamplerConfig; log: Logger }): PoolSampler {
  const intervalMs = Math.max(1, config.poolSampleSeconds) * 1000;
  const total = config.portRange.max - config.portRange.min + 1;
  const counter = createBytesMovedCounter();
  let previousAt = Date.now();
  let failing = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  let repositorySampledAt = 0;

  /** The repository's use, for the dashboard's chart (issue 16). */
  async function sampleRepository(now: Date): Promise<void> {
    if (now.getTime() - repositorySampledAt < Math.max(intervalMs, REPOSITORY_EVERY_MS)) return;
    repositorySampledAt = now.getTime();
    const view = await repositoryView(db, config);
    const data = {
      at: now,
      totalBytes: BigInt(view.totalBytes),
      freeBytes: BigInt(view.freeBytes),
      usedByBackups: BigInt(view.usedByBackups),
    };
    await db.repositorySample.create({ data }).catch((error: unknown) => {
      if (prismaCode(error) !== "P2002") throw error;
    });
  }

  async function sample(): Promise<void> {
    const now = new Date();
    await sampleRepository(now);
    const [allocated, exports, disks] = await Promise.all([
      // This node's pool (total is its range) and its jobs' bytes: the dashboard sums the nodes.
      db.portAllocation.count({ where: { node: config.nodeName } }),
      db.nbdExport.count({ where: { node: config.nodeName, status: { in: ACTIVE_EXPORT } } }),
      // Jobs that may have moved bytes since the last sample: running ones, ones we saw running,
      // and ones created since (all three served by indexes, so this stays cheap with 100,000 jobs).
      db.backupDisk.findMany({
        where: {
          job: {
            node: config.nodeName,
            OR: [
              { status: { in: ACTIVE_JOB } },
              { id: { in: counter.jobIdsInFlight() } },
              { createdAt: { gte: new Date(previousAt - RECENT_MS) } },
            ],
          },
        },
        select: { jobId: true, diskId: true, transferredBytes: true, job: { select: { status: true } } },
      }),
    ]);
    const bytesMoved = counter.count(disks, now.getTime(), RECENT_MS + 3 * intervalMs);
    previousAt = now.getTime();
    try {
      await db.poolSample.create({ data: { at: now, node: config.nodeName, total, allocated, exports, bytesMoved } });
    } catch (error) {
      // A node's sample of the same millisecond is there already (two samplers of one node): one is enough.
      if (prismaCode(error) !== "P2002") throw error;
    }
  }

  async function tick(): Promise<void> {
    try {
      await sample();
      if (failing) log.info("pool sampling works again");
      failing = false;
    } catch (error) {
      // Log once per outage, not every interval.
      if (!failing) log.warn("could not sample the port pool", { error: firstLineOf(error) });
      failing = true;
    }
  }

  function schedule(delayMs: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      const started = Date.now();
      inFlight = tick().finally(() => {
        inFlight = undefined;
        schedule(Math.max(0, intervalMs - (Date.now() - started)));
      });
    }, delayMs);
    timer.unref?.();
  }

  schedule(0);
  log.info(`sampling the port pool every ${intervalMs / 1000} s`);

  return {
    async sampleNow() {
      await inFlight;
      await tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
