// Two hubs on one Postgres (issue 18, first slice): each is a node with its own name and data
// directory, and the same port range. Ports are keyed by (node, port), so both hand out the same
// number at once; GET /nodes on either shows both with their own counts; a node never adopts,
// stops or ends the other's qemu-nbd or jobs, not even when it restarts (and reconciles), and it
// refuses the backup client's reports for them with 409 other_node; a node killed without a word shows as lost once
// its heartbeat is older than the lease (and the other fails its job, node lost), and it ends
// its own orphan when it comes back.
import { afterAll, describe, expect, it } from "vitest";
import type { NodeList } from "@/lib/api/schemas/nodes";
import type { BackupJobView } from "@/lib/backup/serialize";
import type { Allocation, ExportInfo } from "@/lib/nbd/types";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { externalJob } from "../helpers/external-job";
import { killQemuNbdUnder, nbdinfo, qemuNbdUnder } from "./nbd-helpers";

type ErrorBody = { error: { code: string; message: string; details?: { node?: string } } };

const servers: TestServer[] = [];
let url: string;
afterAll(async () => {
  for (const s of servers) await s.kill();
  const dirs = [...new Set(servers.map((s) => s.dataDir))];
  // Node A was killed with its export running: that qemu-nbd is ours to end now.
  for (const dir of dirs) await killQemuNbdUnder(dir);
  for (const dir of dirs) expect(await qemuNbdUnder(dir)).toEqual([]);
  if (url) await dropTestDatabase(url);
});

function expectOtherNode(r: { status: number; body: unknown }, owner: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(409);
  const { error } = r.body as ErrorBody;
  expect(error.code).toBe("other_node");
  expect(error.message).toContain(`node "${owner}"`);
  expect(error.details?.node).toBe(owner);
}

describe("two nodes on one database", () => {
  it("share nothing but the database: same port numbers, own processes, 409 for the other's, lost after a kill", async () => {
    url = await createTestDatabase("nodes");
    const range = await freePortRange(3);
    const common = {
      DATABASE_URL: url,
      NBDHUB_PORT_RANGE: `${range.min}-${range.max}`,
      NBDHUB_NODE_HEARTBEAT_SECONDS: "1",
      NBDHUB_NODE_LEASE_SECONDS: "3",
    };
    const a = await startServer({ ...common, NBDHUB_NODE_NAME: "node-a" });
    servers.push(a);
    const b = await startServer({ ...common, NBDHUB_NODE_NAME: "node-b" });
    servers.push(b);
    expect(a.dataDir).not.toBe(b.dataDir);

    // The same port, at once, on each node.
    const held = await Promise.all(
      [a, b].map((s, i) =>
        s.api<Allocation>("POST", "/nbd/ports/allocate", { jobId: `held-${i}`, vmName: "vm", exportName: `e${i}` }),
      ),
    );
    // The lowest free port of each (range.min, unless another program on this busy host listens there).
    const port = held[0].body.port;
    expect(held.map((r) => [r.status, r.body.node, r.body.port])).toEqual([
      [201, "node-a", port],
      [201, "node-b", port],
    ]);

    // A running external job on node A: its export (a real qemu-nbd) on A's next port.
    const job = await a.api<BackupJobView>("POST", "/backups", externalJob("vm-a"));
    expect(job.status, JSON.stringify(job.body)).toBe(202);
    expect(job.body).toMatchObject({ node: "node-a", status: "running" });
    const uri = job.body.disks[0].nbdUri!;
    const exportsOfA = (await a.api<{ processes: ExportInfo[] }>("GET", "/nbd/qemu-nbd")).body.processes;
    expect(exportsOfA.map((e) => [e.node, e.status])).toEqual([["node-a", "ready"]]);
    const [exported] = exportsOfA;
    expect((await nbdinfo(uri)).exports[0]["export-name"]).toBe("vm-a-sda");

    // GET /nodes on either node: both up, each with its own counts.
    for (const s of [a, b]) {
      const nodes = await s.api<NodeList>("GET", "/nodes");
      expect(nodes.status).toBe(200);
      expect(nodes.body.items.map((n) => [n.name, n.status, n.ports, n.jobsRunning])).toEqual([
        ["node-a", "up", { total: 3, allocated: 2 }, 1],
        ["node-b", "up", { total: 3, allocated: 1 }, 0],
      ]);
      expect(nodes.body.items.map((n) => [n.apiUrl, n.portRange])).toEqual([
        [`${a.url}/api/v1`, range],
        [`${b.url}/api/v1`, range],
      ]);
    }

    // The backup client's reports go to the job's node (its nbdUri names it): node B refuses
    // them, 409, and nothing changes. (Cancel, stop and release sent to B are done by A:
    // nodes-control.test.ts.)
    expectOtherNode(await b.api("POST", `/backups/${job.body.id}/fail`, { message: "no" }), "node-a");
    expectOtherNode(await b.api("POST", `/backups/${job.body.id}/complete`, { disks: [{ diskId: "sda" }] }), "node-a");
    // A port number names B's own port: B has no export there.
    expect((await b.api("POST", "/nbd/qemu-nbd/stop", { port: exported.port })).status).toBe(404);
    expect((await a.api<Allocation>("GET", `/nbd/ports/${port}`)).body).toMatchObject({ jobId: "held-0" });

    // B restarts (its start reconciles exports, jobs and movers): A's export and job are not its own.
    expect(await b.stop()).toBe(143);
    const b2 = await startServer({ ...common, NBDHUB_NODE_NAME: "node-b", NBDHUB_DATA_DIR: b.dataDir });
    servers.push(b2);
    expect(b2.output()).not.toMatch(/adopted qemu-nbd/);
    expect(b2.output()).not.toMatch(/interrupted by restart/);
    expect((await qemuNbdUnder(a.dataDir)).map((p) => p.pid)).toEqual([exported.pid]);
    expect((await nbdinfo(uri)).exports[0]["export-name"]).toBe("vm-a-sda");
    expect((await a.api<BackupJobView>("GET", `/backups/${job.body.id}`)).body.status).toBe("running");
    expect((await a.api<ExportInfo>("GET", `/nbd/qemu-nbd/${exported.port}`)).body).toMatchObject({
      node: "node-a",
      status: "ready",
      pid: exported.pid,
    });
    // B's own allocation survived its restart; both lists show every node's exports.
    expect((await b2.api<Allocation>("GET", `/nbd/ports/${port}`)).body).toMatchObject({
      node: "node-b",
      jobId: "held-1",
    });
    const seenByB = (await b2.api<{ processes: ExportInfo[] }>("GET", "/nbd/qemu-nbd")).body.processes;
    expect(seenByB.map((e) => [e.node, e.port, e.pid])).toEqual([["node-a", exported.port, exported.pid]]);
    expectOtherNode(await b2.api("POST", `/backups/${job.body.id}/fail`, { message: "no" }), "node-a");

    // A dies without a word: B shows it lost once its heartbeat is older than the lease (3 s),
    // and still leaves its qemu-nbd alone.
    await a.kill();
    await waitFor(
      async () => {
        const nodes = (await b2.api<NodeList>("GET", "/nodes")).body.items;
        return nodes.find((n) => n.name === "node-a")?.status === "lost";
      },
      { timeoutMs: 15_000, what: "node A to show as lost on node B" },
    );
    const nodes = (await b2.api<NodeList>("GET", "/nodes")).body.items;
    expect(nodes.map((n) => [n.name, n.status])).toEqual([
      ["node-a", "lost"],
      ["node-b", "up"],
    ]);
    // B recovers lost A in the database (decision 031): A's job fails "node lost", its export is
    // marked lost, its ports are released; A's qemu-nbd itself is not B's to signal.
    const lost = await waitFor(
      async () => {
        const j = (await b2.api<BackupJobView>("GET", `/backups/${job.body.id}`)).body;
        return j.status === "failed" ? j : null;
      },
      { timeoutMs: 15_000, what: "node A's job to fail as node lost" },
    );
    expect(lost.error).toBe("node lost: node-a");
    expect((await b2.api<NodeList>("GET", "/nodes")).body.items[0].ports.allocated).toBe(0);
    expect((await qemuNbdUnder(a.dataDir)).map((p) => p.pid)).toEqual([exported.pid]);
    expect(await b2.stop()).toBe(143);
    expect((await qemuNbdUnder(a.dataDir)).map((p) => p.pid)).toEqual([exported.pid]);

    // A comes back (same name and data directory): its own start ends the qemu-nbd it left (its
    // row is no longer live: an orphan) before it is up; the job stays as the recovery left it.
    const a2 = await startServer({ ...common, NBDHUB_NODE_NAME: "node-a", NBDHUB_DATA_DIR: a.dataDir });
    servers.push(a2);
    const ended = (await a2.api<BackupJobView>("GET", `/backups/${job.body.id}`)).body;
    expect([ended.node, ended.status, ended.error]).toEqual(["node-a", "failed", "node lost: node-a"]);
    expect(await qemuNbdUnder(a.dataDir)).toEqual([]);
    expect((await a2.api<{ processes: ExportInfo[] }>("GET", "/nbd/qemu-nbd")).body.processes).toEqual([]);
    const pool = (await a2.api<{ node: string; allocations: Allocation[] }>("GET", "/nbd/ports")).body;
    expect([pool.node, pool.allocations]).toEqual(["node-a", []]);
    expect(await a2.stop()).toBe(143);
  });
});
