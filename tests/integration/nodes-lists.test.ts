// The lists by node (issue 18, the console's slice): two hubs on one Postgres, a running job on
// each; GET /backups, /nbd/qemu-nbd and /restores take `node` and keep that node's rows (an
// unknown name: none; a malformed one: 422); each node samples its own pool, and
// GET /stats/pool-history charts one node's or every node's summed.
import { afterAll, describe, expect, it } from "vitest";
import type { PoolHistory } from "@/lib/api/schemas/stats";
import type { BackupJobView } from "@/lib/backup/serialize";
import type { ExportInfo } from "@/lib/nbd/types";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { externalJob } from "../helpers/external-job";

type Page<T> = { items: T[]; nextCursor: string | null };

const servers: TestServer[] = [];
let url: string;
afterAll(async () => {
  for (const s of servers) if (s.alive()) await s.stop();
  if (url) await dropTestDatabase(url);
});

const external = (vmName: string) => externalJob(vmName, { sizeBytes: 1024 * 1024 });

describe("lists by node", () => {
  it("keep one node's jobs, exports and restores, and chart one node's pool or all nodes' summed", async () => {
    url = await createTestDatabase("nodelists");
    const common = { DATABASE_URL: url, NBDHUB_POOL_SAMPLE_SECONDS: "1" };
    // Separate ranges: both nodes run a real qemu-nbd on this one machine.
    const [rangeA, rangeB] = [await freePortRange(3), await freePortRange(4)];
    const a = await startServer({
      ...common,
      NBDHUB_NODE_NAME: "node-a",
      NBDHUB_PORT_RANGE: `${rangeA.min}-${rangeA.max}`,
    });
    servers.push(a);
    const b = await startServer({
      ...common,
      NBDHUB_NODE_NAME: "node-b",
      NBDHUB_PORT_RANGE: `${rangeB.min}-${rangeB.max}`,
    });
    servers.push(b);

    const jobA = await a.api<BackupJobView>("POST", "/backups", external("vm-a"));
    const jobB = await b.api<BackupJobView>("POST", "/backups", external("vm-b"));
    expect([jobA.status, jobB.status], JSON.stringify([jobA.body, jobB.body])).toEqual([202, 202]);
    expect([jobA.body.node, jobB.body.node]).toEqual(["node-a", "node-b"]);

    // Jobs: every node's without `node`, one node's with it, asked of either node.
    const jobs = async (s: TestServer, query: string) =>
      (await s.api<Page<BackupJobView>>("GET", `/backups${query}`)).body.items.map((j) => [j.node, j.vmName]);
    expect(await jobs(a, "")).toEqual([
      ["node-b", "vm-b"],
      ["node-a", "vm-a"],
    ]);
    expect(await jobs(a, "?node=node-b")).toEqual([["node-b", "vm-b"]]);
    expect(await jobs(b, "?node=node-a&status=running")).toEqual([["node-a", "vm-a"]]);
    expect(await jobs(a, "?node=node-c")).toEqual([]);

    // Exports: the running ones, and with `recent` those that ended too.
    const exports = async (s: TestServer, query: string) =>
      (await s.api<{ count: number; processes: ExportInfo[] }>("GET", `/nbd/qemu-nbd${query}`)).body.processes.map(
        (e) => [e.node, e.vmName],
      );
    // (by port, then node: the ranges are random here)
    expect((await exports(b, "")).sort()).toEqual([
      ["node-a", "vm-a"],
      ["node-b", "vm-b"],
    ]);
    expect(await exports(b, "?node=node-a")).toEqual([["node-a", "vm-a"]]);
    expect(await exports(a, "?node=node-b&recent=60")).toEqual([["node-b", "vm-b"]]);
    expect(await exports(a, "?node=node-c")).toEqual([]);

    // Restores: none here, but the filter is a filter.
    expect((await a.api<Page<unknown>>("GET", "/restores?node=node-a")).body.items).toEqual([]);
    for (const path of [
      "/backups?node=-bad",
      "/nbd/qemu-nbd?node=a%20b",
      "/restores?node=",
      "/stats/pool-history?node=%2F",
    ]) {
      const r = await a.api<{ error: { code: string } }>("GET", path);
      expect([path, r.status, r.body.error.code]).toEqual([path, 422, "validation_failed"]);
    }

    // The pool history: each node's own range and use; all nodes summed in a bucket both sampled.
    const history = async (query: string) =>
      (await a.api<PoolHistory>("GET", `/stats/pool-history?range=1h${query}`)).body;
    const ofA = await waitFor(
      async () => {
        const h = await history("&node=node-a");
        return h.points.length > 0 && h;
      },
      { timeoutMs: 15_000, what: "node A's pool samples" },
    );
    expect(ofA.node).toBe("node-a");
    expect(ofA.points.every((p) => p.total === 3 && p.allocatedMax <= 1 && p.exports <= 1)).toBe(true);
    const ofB = await history("&node=node-b");
    expect(ofB.points.length).toBeGreaterThan(0);
    expect(ofB.points.every((p) => p.total === 4)).toBe(true);
    const all = await waitFor(
      async () => {
        const h = await history("");
        return h.points.some((p) => p.total === 7 && p.allocatedMax === 2) && h;
      },
      { timeoutMs: 15_000, what: "a bucket sampled by both nodes" },
    );
    expect(all.node).toBeNull();
    expect(all.points.every((p) => [3, 4, 7].includes(p.total))).toBe(true);
    expect((await history("&node=node-c")).points).toEqual([]);

    // Each node ends its own job (and with it its qemu-nbd).
    expect((await a.api("POST", `/backups/${jobA.body.id}/cancel`)).status).toBe(202);
    expect((await b.api("POST", `/backups/${jobB.body.id}/cancel`)).status).toBe(202);
    await waitFor(async () => (await exports(a, "")).length === 0, { what: "both nodes' exports to end" });
    expect(await a.stop()).toBe(143);
    expect(await b.stop()).toBe(143);
  });
});
