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
import { isPortTaken } from "@/lib/nbd/port-probe";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { waitFor, withDeadline } from "../helpers/wait";

const log = createLogger("test", () => undefined);
const NODE = "pool-test";
let url: string;
const dbs: Db[] = [];

type Probe = (port: number, bind: string) => Promise<boolean>;

async function poolOn(
  range: { min: number; max: number },
  probe: Probe = isPortTaken,
): Promise<{ pools: [PortPool, PortPool]; db: Db }> {
  const [a, b] = [createDb(url, 8), createDb(url, 8)];
  dbs.push(a, b);
  await a.portAllocation.deleteMany();
  await a.nbdExport.deleteMany();
  await a.portPool.upsert({
    where: { node: NODE },
    create: { node: NODE, minPort: range.min, maxPort: range.max },
    update: { minPort: range.min, maxPort: range.max },
  });
  const config = { portRange: range, nbdBind: "127.0.0.1", nodeName: NODE };
  return { pools: [new PortPool(a, config, log, probe), new PortPool(b, config, log, probe)], db: a };
}

/** `count` allocations at once, alternating between the two pools: the ports given, the refusals. */
async function allocateAtOnce(pools: [PortPool, PortPool], count: number) {
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => pools[i % 2].allocate(req(i))));
  return {
    ports: results.flatMap((r) => (r.status === "fulfilled" ? [r.value.port] : [])),
    refused: results.flatMap((r) => (r.status === "rejected" ? [r.reason as DomainError] : [])),
  };
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
        node: NODE,
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

  it("200 allocations at once over two processes hand out each port once, and the counts add up", async () => {
    const range = await freePortRange(150);
    const { pools } = await poolOn(range);
    const { ports, refused } = await allocateAtOnce(pools, 200);
    expect(ports).toHaveLength(150);
    expect(new Set(ports).size).toBe(150);
    expect(refused).toHaveLength(50);
    for (const e of refused) expect(e).toMatchObject({ code: "port_pool_exhausted" });
    expect(await pools[0].counts()).toMatchObject({ allocated: 150, available: 0 });
    for (const jobId of new Set(Array.from({ length: 200 }, (_, i) => req(i).jobId))) await pools[1].releaseJob(jobId);

    // Then 200 clients allocate, hold, release, three times each: a port answered to one
    // client is marked until that client releases it, so a second mark is a double hold.
    const holder = new Map<number, number>();
    const doubleHolds: string[] = [];
    let cycles = 0;
    let exhausted = 0;
    await Promise.all(
      Array.from({ length: 200 }, async (_, c) => {
        for (let n = 0; n < 3; n += 1) {
          let port: number;
          try {
            port = (await pools[c % 2].allocate(req(c))).port;
          } catch (error) {
            expect(error).toMatchObject({ code: "port_pool_exhausted" });
            exhausted += 1;
            continue;
          }
          if (holder.has(port)) doubleHolds.push(`port ${port}: clients ${holder.get(port)} and ${c}`);
          holder.set(port, c);
          await new Promise((resolve) => setImmediate(resolve)); // others' answers arrive meanwhile
          holder.delete(port);
          expect(await pools[(c + 1) % 2].release(port)).toBe(true);
          cycles += 1;
        }
      }),
    );
    expect(doubleHolds).toEqual([]);
    expect(cycles + exhausted).toBe(600);
    expect(cycles).toBeGreaterThanOrEqual(450);
    expect(await pools[1].counts()).toMatchObject({ allocated: 0, available: 150 });
    expect(await pools[0].list()).toEqual([]);
  });

  it("probes for a foreign listener with no transaction open, gives that port back and takes the next", async () => {
    const range = await freePortRange(3);
    const foreign = net.createServer();
    await new Promise<void>((resolve) => foreign.listen(range.min, "127.0.0.1", resolve));
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const inTransaction: number[] = [];
    let probing = false;
    const { pools, db } = await poolOn(range, async (port, bind) => {
      if (port === range.min) {
        probing = true;
        // Every connection to this database, the pools' included: none may sit in a transaction.
        const [{ n }] = await db.$queryRaw<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`;
        inTransaction.push(n);
        await gate;
      }
      return isPortTaken(port, bind);
    });
    try {
      const first = pools[0].allocate(req(1));
      await waitFor(() => probing, { what: "the first allocation to probe the lowest port" });
      // The probed port is claimed meanwhile; the other process is not held up by the probe.
      const second = await withDeadline(pools[1].allocate(req(2)), 5000, "an allocation while another one probes");
      expect(second.port).toBe(range.min + 1);
      expect(inTransaction).toEqual([0]);
      openGate();
      expect((await first).port).toBe(range.min + 2);
      expect(await pools[0].isAllocated(range.min)).toBe(false);
      expect((await pools[0].list()).map((a) => a.port)).toEqual([range.min + 1, range.min + 2]);
    } finally {
      openGate();
      await new Promise((resolve) => foreign.close(resolve));
    }
  });

  it("reserves all or none, labels the ports in order, and skips a foreign listener", async () => {
    const range = await freePortRange(4);
    const { pools } = await poolOn(range);
    const foreign = net.createServer();
    await new Promise<void>((resolve) => foreign.listen(range.min + 1, "127.0.0.1", resolve));
    try {
      const got = await pools[0].reserve(2, { jobId: "r1", vmName: "vm", exportNames: ["d0", "d1"] });
      expect(got.map((a) => [a.port, a.exportName])).toEqual([
        [range.min, "d0"],
        [range.min + 2, "d1"],
      ]);
      expect((await pools[1].list()).map((a) => [a.port, a.exportName])).toEqual([
        [range.min, "d0"],
        [range.min + 2, "d1"],
      ]);
      await expect(pools[1].reserve(2, { jobId: "r2", vmName: "vm", exportNames: [] })).rejects.toMatchObject({
        code: "port_pool_exhausted",
      });
      expect(await pools[1].portsOfJob("r2")).toEqual([]); // none: the one free port was given back
      expect((await pools[1].reserve(1, { jobId: "r3", vmName: "vm", exportNames: [] }))[0]).toMatchObject({
        port: range.max,
        exportName: "vm-reserved",
      });
    } finally {
      await new Promise((resolve) => foreign.close(resolve));
    }
  });

  it("keys ports by node: two nodes with one range hold the same numbers, each its own, and refuse the other's", async () => {
    const range = await freePortRange(3);
    await poolOn(range); // empties the tables
    const db = createDb(url, 8);
    dbs.push(db);
    const config = (nodeName: string) => ({ portRange: range, nbdBind: "127.0.0.1", nodeName });
    const [a, b] = [new PortPool(db, config("node-a"), log), new PortPool(db, config("node-b"), log)];
    await Promise.all([a.configure(), b.configure()]);
    // Each node fills its whole range, both at once: every number twice, once per node.
    const got = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? b : a).allocate({ jobId: `j${i % 2}`, vmName: "vm", exportName: `e${i}` }),
      ),
    );
    const of = (node: string) =>
      got
        .filter((g) => g.node === node)
        .map((g) => g.port)
        .sort((x, y) => x - y);
    const all = [range.min, range.min + 1, range.max];
    expect(of("node-a")).toEqual(all);
    expect(of("node-b")).toEqual(all);
    await expect(a.allocate({ jobId: "j9", vmName: "vm", exportName: "e9" })).rejects.toMatchObject({
      code: "port_pool_exhausted",
    });
    expect(await a.counts()).toMatchObject({ total: 3, allocated: 3 });
    expect(await a.get(range.min)).toMatchObject({ node: "node-a", jobId: "j0" });
    // Another node's port or job: 409 other_node, and nothing released.
    await expect(a.release(range.min, "node-b")).rejects.toMatchObject({ code: "other_node", kind: "conflict" });
    await expect(a.releaseJob("j1")).rejects.toMatchObject({ code: "other_node" });
    expect(await b.portsOfJob("j1")).toEqual(all);
    // A release by number is this node's own port only.
    expect(await a.release(range.min)).toBe(true);
    expect(await b.isAllocated(range.min)).toBe(true);
    expect((await a.allocate({ jobId: "j9", vmName: "vm", exportName: "e9" })).port).toBe(range.min);
  });
});
