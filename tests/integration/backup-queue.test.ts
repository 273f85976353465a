// The runner's queue is a cache of Postgres (issue 11, item 18: a job once stayed `queued` for
// good in a fault run). A POST /backups whose row was committed but whose answer was lost (the
// database went away between the COMMIT and its reply) had its job in no queue: nothing would
// ever start it. Likewise a queued job whose cancel was committed but whose answer was lost.
// In-process (the runner with the real pool, export manager, qemu-nbd and Postgres), because
// only a database wrapper can cut the answer after the commit at will.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackupRunner } from "@/lib/backup/runner";
import { parseConfig, type Config } from "@/lib/config/env";
import { migrate } from "@/lib/db/migrator";
import { createDb, type Db } from "@/lib/db/prisma";
import { createLogger } from "@/lib/log";
import { ExportManager } from "@/lib/nbd/export-manager";
import { PortPool } from "@/lib/nbd/port-pool";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { waitFor } from "../helpers/wait";
import { qemuNbdUnder } from "./nbd-helpers";

const log = createLogger("test", () => undefined);
let url: string;
let db: Db;
let config: Config;

beforeAll(async () => {
  url = await createTestDatabase("queue");
  await migrate(url, path.resolve(__dirname, "../../prisma/migrations"));
  const range = await freePortRange(2);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-queue-"));
  config = parseConfig({ NBDHUB_DATA_DIR: dataDir, DATABASE_URL: url, NBDHUB_PORT_RANGE: `${range.min}-${range.max}` });
  await Promise.all([config.repositoryDir, config.runDir].map((d) => mkdir(d, { recursive: true })));
  db = createDb(url);
  const node = config.nodeName;
  await db.portPool.upsert({ where: { node }, create: { node, minPort: range.min, maxPort: range.max }, update: {} });
});

afterAll(async () => {
  await db?.$disconnect();
  if (config) await rm(config.dataDir, { recursive: true, force: true });
  if (url) await dropTestDatabase(url);
});

/** The database, except that the next job insert commits and then fails, as a lost answer does. */
function loseNextInsertAnswer(real: Db): Db {
  let armed = true;
  const bound = (target: object, key: string | symbol) => {
    const value: unknown = Reflect.get(target, key);
    return typeof value === "function" ? value.bind(target) : value;
  };
  const jobs = new Proxy(real.backupJob, {
    get(model, key) {
      if (key !== "create") return bound(model, key);
      return async (args: Parameters<Db["backupJob"]["create"]>[0]) => {
        const row = await real.backupJob.create(args);
        if (!armed) return row;
        armed = false;
        throw new Error("Connection terminated unexpectedly");
      };
    },
  });
  return new Proxy(real, { get: (client, key) => (key === "backupJob" ? jobs : bound(client, key)) });
}

describe("the queue and Postgres", () => {
  it("starts a job whose POST failed after its row was committed, and ends a queued job whose cancel was", async () => {
    const pool = new PortPool(db, config, log);
    const exports = new ExportManager(db, pool, config, log);
    const runner = new BackupRunner({ db: loseNextInsertAnswer(db), config, log, ports: pool, exports });
    await runner.start();
    try {
      const request = {
        vmName: "lost01",
        type: "full" as const,
        mover: "external" as const,
        disks: [{ diskId: "d0", sizeBytes: 1024 * 1024 }],
      };
      await expect(runner.create(request, "test")).rejects.toThrow(/Connection terminated/);
      const lost = await db.backupJob.findFirstOrThrow({ where: { vmName: "lost01" } });
      expect(lost.status).toBe("queued");
      // Before the fix nothing had queued it: it stayed queued for good (until a restart).
      await waitFor(
        async () => {
          const job = await db.backupJob.findUniqueOrThrow({ where: { id: lost.id }, include: { disks: true } });
          return job.status === "running" && job.disks.every((d) => d.nbdUri);
        },
        { timeoutMs: 20_000, what: "the job whose answer was lost to start" },
      );
      expect((await runner.failExternal(lost.id, "test is done with it")).status).toBe("failed");

      // A cancel of a queued job that committed its claim, and whose answer was lost.
      await db.backupJob.create({
        data: {
          id: "claimed-1",
          node: config.nodeName,
          vmName: "lost02",
          type: "full",
          mover: "external",
          status: "queued",
          ending: "cancelling",
          cancelledBy: "op",
        },
      });
      const ended = await waitFor(
        async () => {
          const job = await db.backupJob.findUniqueOrThrow({ where: { id: "claimed-1" } });
          return job.status !== "queued" ? job : undefined;
        },
        { timeoutMs: 20_000, what: "the claimed queued job to end" },
      );
      expect(ended).toMatchObject({ status: "cancelled", cancelledBy: "op" });
      expect(await db.portAllocation.count()).toBe(0);
    } finally {
      await runner.stop();
      await exports.stopAll();
    }
    expect(await qemuNbdUnder(config.dataDir)).toEqual([]);
  });
});
