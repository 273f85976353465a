// The port pool against a real PostgreSQL, without HTTP: two pools on two connections stand
// for two server processes on one database.
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainError } from "@/lib/errors";
import { migrate } from "@/lib/db/migrator";
import { createDb, type Db } from "@/lib/db/prisma";
import { createLogger } from "@/lib/log";
import { PortPool } from "@/lib/nbd/port-pool";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";

const log = createLogger("test", () => undefined);
let url: string;
const dbs: Db[] = [];

async function poolOn(range: { min: number; max: number }): Promise<{ pools: [PortPool, PortPool]; db: Db }> {
  const [a, b] = [createDb(url, 8), createDb(url, 8)];
  dbs.push(a, b);
  await a.portAllocation.deleteMany();
  await a.nbdExport.deleteMany();
  await a.portPool.upsert({
    where: { id: 1 },
    create: { id: 1, minPort: range.min, maxPort: range.max },
    update: { minPort: range.min, maxPort: range.max },
  });
  const config = { portRange: range, nbdBind: "127.0.0.1" };
  return { pools: [new PortPool(a, config, log), new PortPool(b, config, log)], db: a };
}

const req = (i: number) => ({ jobId: `job-${i % 5}`, vmName: `vm${i}`, exportName: `vm${i}-disk0` });

beforeAll(async () => {
  url = await createTestDatabase("pool");
  await migrate(url, path.resolve(__dirname, "../../prisma/migrations"));
});
afterAll(async () => {
  await Promise.all(dbs.map((d) => d.$disconnect()));
  await dropTestDatabase(url);
});

describe("port pool", () => {
  it("two processes asking at once never get the same port, and the surplus gets a clean 409", async () => {
    const range = await freePortRange(40);
    const { pools } = await poolOn(range);
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => pools[i % 2].allocate(req(i))));
    const ports = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.port] : []));
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as DomainError] : []));
    expect(ports).toHaveLength(40);
    expect(new Set(ports).size).toBe(40);
    expect(Math.min(...ports)).toBe(range.min);
    expect(Math.max(...ports)).toBe(range.max);
    expect(refused).toHaveLength(10);
    for (const e of refused) expect(e).toMatchObject({ code: "port_pool_exhausted", kind: "conflict" });
    expect(await pools[1].counts()).toEqual({ range, total: 40, allocated: 40, available: 0, utilizationPercent: 100 });
  });

  it("skips a port another program listens on, and refuses to hand it out by number", async () => {
    const range = await freePortRange(4);
    const { pools } = await poolOn(range);
    const foreign = net.createServer();
    await new Promise<void>((resolve) => foreign.listen(range.min, "127.0.0.1", resolve));
    try {
      expect((await pools[0].allocate(req(1))).port).toBe(range.min + 1);
      await expect(pools[0].allocatePort(range.min, req(2))).rejects.toMatchObject({
        code: "port_in_use",
        kind: "conflict",
      });
      await expect(pools[0].allocatePort(range.max + 1, req(2))).rejects.toMatchObject({
        code: "port_out_of_range",
        kind: "invalid",
      });
      expect((await pools[0].allocate(req(3), { skip: [range.min + 2] })).port).toBe(range.min + 3);
      expect((await pools[1].allocate(req(4))).port).toBe(range.min + 2);
      await expect(pools[1].allocate(req(5))).rejects.toMatchObject({
        code: "port_pool_exhausted",
        message: expect.stringMatching(/in use by other programs/),
      });
    } finally {
      await new Promise((resolve) => foreign.close(resolve));
    }
  });

  it("releases by port and by job, but never a port whose export still runs", async () => {
    const range = await freePortRange(4);
    const { pools, db } = await poolOn(range);
    const [pool] = pools;
    const a = await pool.allocate({ jobId: "j1", vmName: "vm", exportName: "e0" });
    const b = await pool.allocate({ jobId: "j1", vmName: "vm", exportName: "e1" });
    const c = await pool.allocate({ jobId: "j2", vmName: "vm", exportName: "e2" });
    expect(await pool.portsOfJob("j1")).toEqual([a.port, b.port]);
    expect(await pool.isAllocated(c.port)).toBe(true);
    expect(await pool.get(c.port)).toMatchObject({ port: c.port, jobId: "j2", exportName: "e2" });

    await db.nbdExport.create({
      data: {
        id: "x1",
        port: b.port,
        exportName: "e1",
        filePath: "/f",
        jobId: "j1",
        vmName: "vm",
        diskId: "d",
        status: "ready",
      },
    });
    await expect(pool.release(b.port)).rejects.toMatchObject({ code: "export_running", kind: "conflict" });
    await expect(pool.releaseJob("j1")).rejects.toMatchObject({ code: "export_running" });
    expect(await pool.portsOfJob("j1")).toEqual([a.port, b.port]); // all or nothing
    await db.nbdExport.update({ where: { id: "x1" }, data: { status: "stopped" } });

    expect(await pool.releaseJob("j1")).toEqual([a.port, b.port]);
    expect(await pool.release(c.port)).toBe(true);
    expect(await pool.release(c.port)).toBe(false);
    expect(await pool.list()).toEqual([]);
    expect((await pool.allocate(req(0))).port).toBe(range.min); // first free again
  });
});
