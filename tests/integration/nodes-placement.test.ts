// Placement (issue 18, decision 032): three hubs on one Postgres, four ports each. Twelve
// external backups submitted to node A, one after another, spread over the three (A keeps them
// while it has free ports, then the least loaded node takes each), every answer naming the
// owning node's NBD address; they complete, and no (node, port) was ever held twice (the
// export rows' lifetimes per node and port never overlap). A restore sent to A runs on its
// point's node, an incremental on its chain's node. A pinned node must exist (422) and be up
// (409 node_lost); an incremental whose chain is on a lost node cannot run (409 node_lost).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { NodeList } from "@/lib/api/schemas/nodes";
import type { BackupJobView } from "@/lib/backup/serialize";
import type { RestoreView } from "@/lib/restore/types";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { externalJob } from "../helpers/external-job";
import { killQemuNbdUnder } from "./nbd-helpers";

type ErrorBody = { error: { code: string; message: string; details?: Record<string, string> } };

const servers: TestServer[] = [];
let url: string;
let scratch: string | undefined;
afterAll(async () => {
  for (const s of servers) await s.kill();
  for (const s of servers) await killQemuNbdUnder(s.dataDir);
  if (scratch) await rm(scratch, { recursive: true, force: true });
  if (url) await dropTestDatabase(url);
});

async function exportLifetimes(): Promise<{ node: string; port: number; started: Date; stopped: Date | null }[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query(
      "SELECT node, port, started_at AS started, stopped_at AS stopped FROM nbd_exports ORDER BY node, port, started_at",
    );
    return r.rows;
  } finally {
    await client.end();
  }
}

describe("placement over three nodes", () => {
  it("twelve backups sent to one node spread over three, complete, and no (node, port) is held twice", async () => {
    url = await createTestDatabase("nodes_placement");
    // One machine: each node its own four ports (qemu-nbd of one would hold the other's numbers).
    const range = await freePortRange(12);
    const rangeOf = (i: number) => `${range.min + 4 * i}-${range.min + 4 * i + 3}`;
    const common = {
      DATABASE_URL: url,
      NBDHUB_NODE_HEARTBEAT_SECONDS: "1",
      NBDHUB_NODE_LEASE_SECONDS: "3",
    };
    // Node B tells its clients another host name for the same address: answers must say it.
    const hosts: Record<string, string> = { "node-a": "127.0.0.1", "node-b": "localhost", "node-c": "127.0.0.1" };
    const started = await Promise.all(
      Object.entries(hosts).map(([name, host], i) =>
        startServer({ ...common, NBDHUB_NODE_NAME: name, NBDHUB_NBD_HOST: host, NBDHUB_PORT_RANGE: rangeOf(i) }),
      ),
    );
    servers.push(...started);
    const [a, b, c] = started;
    const byNode: Record<string, TestServer> = { "node-a": a, "node-b": b, "node-c": c };

    const jobs: BackupJobView[] = [];
    for (let i = 0; i < 12; i += 1) {
      const r = await a.api<BackupJobView>("POST", "/backups", externalJob(`vm-${i}`));
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      jobs.push(r.body);
    }
    expect(jobs.map((j) => [j.node, j.status, j.error])).toEqual(jobs.map((j) => [j.node, "running", null]));
    // A while it had free ports, then the least loaded (B and C in turn).
    expect(jobs.map((j) => j.node)).toEqual([
      ...["node-a", "node-a", "node-a", "node-a"],
      ...["node-b", "node-c", "node-b", "node-c", "node-b", "node-c", "node-b", "node-c"],
    ]);
    // Each answer names its node's NBD address; twelve different (node, port) at once.
    for (const j of jobs) {
      const uri = new URL(j.disks[0].nbdUri!);
      expect([uri.hostname, Number(uri.port)]).toEqual([hosts[j.node], j.disks[0].port]);
    }
    expect(new Set(jobs.map((j) => `${j.node}:${j.disks[0].port}`)).size).toBe(12);
    const nodes = (await c.api<NodeList>("GET", "/nodes")).body.items;
    expect(nodes.map((n) => [n.name, n.ports.allocated, n.jobsRunning])).toEqual([
      ["node-a", 4, 4],
      ["node-b", 4, 4],
      ["node-c", 4, 4],
    ]);
    // Each node's repository space, from its heartbeat (what placement reads).
    for (const n of nodes) expect(n.repositoryFreeBytes).toBeGreaterThan(0);

    // The client writes each disk at the address it was given and reports to the job's node:
    // all complete.
    scratch = await mkdtemp(path.join(os.tmpdir(), "nbdhub-disk-"));
    const data = path.join(scratch, "disk.raw");
    await writeFile(data, Buffer.alloc(4 * 1024 * 1024, 0x5a));
    for (const j of jobs) {
      await execa("nbdcopy", ["--flush", data, j.disks[0].nbdUri!]);
      const report = { transferredBytes: 4 * 1024 * 1024 };
      const progress = await byNode[j.node].api("POST", `/backups/${j.id}/disks/sda/progress`, report);
      expect(progress.status).toBe(200);
      const done = await byNode[j.node].api<BackupJobView>("POST", `/backups/${j.id}/complete`, {
        disks: [{ diskId: "sda" }],
      });
      expect([done.status, done.body.status], JSON.stringify(done.body)).toEqual([200, "completed"]);
    }
    for (const j of jobs) expect((await a.api<BackupJobView>("GET", `/backups/${j.id}`)).body.status).toBe("completed");

    // No (node, port) held twice: per node and port, each export ended before the next began.
    const lifetimes = await exportLifetimes();
    expect(lifetimes).toHaveLength(12);
    for (let i = 1; i < lifetimes.length; i += 1) {
      const [prev, next] = [lifetimes[i - 1], lifetimes[i]];
      if (prev.node !== next.node || prev.port !== next.port) continue;
      expect(prev.stopped, `${next.node}:${next.port}`).not.toBeNull();
      expect(prev.stopped!.getTime()).toBeLessThanOrEqual(next.started.getTime());
    }

    // An incremental sent to A of a VM whose chain is on B runs on B, on that chain (cancelled
    // through A: done by B).
    const chainOnB = jobs[6];
    expect(chainOnB.node).toBe("node-b");
    const incremental = externalJob(chainOnB.vmName, { type: "incremental" });
    const inc = await a.api<BackupJobView>("POST", "/backups", incremental);
    expect([inc.status, inc.body.node, inc.body.status], JSON.stringify(inc.body)).toEqual([202, "node-b", "running"]);
    expect(inc.body.type).toBe("incremental");
    const incCancelled = await a.api<BackupJobView>("POST", `/backups/${inc.body.id}/cancel`);
    expect([incCancelled.status, incCancelled.body.status]).toEqual([202, "cancelled"]);

    // A restore sent to A of B's point runs on B, where its files are.
    const pointOfB = jobs.find((j) => j.node === "node-b")!;
    const restore = await a.api<RestoreView>("POST", "/restores", { jobId: pointOfB.id, mode: "export" });
    expect(restore.status, JSON.stringify(restore.body)).toBe(202);
    expect(restore.body.node).toBe("node-b");
    const pinnedElsewhere = await a.api<ErrorBody>("POST", "/restores", {
      jobId: pointOfB.id,
      mode: "export",
      node: "node-c",
    });
    expect([pinnedElsewhere.status, pinnedElsewhere.body.error.code]).toEqual([409, "point_elsewhere"]);
    // Extended and cancelled through A: done by B (decision 030).
    const extended = await a.api<RestoreView>("POST", `/restores/${restore.body.id}/extend`, { ttlSeconds: 600 });
    expect([extended.status, extended.body.node]).toEqual([200, "node-b"]);
    expect(new Date(extended.body.expiresAt!).getTime()).toBeGreaterThan(new Date(restore.body.expiresAt!).getTime());
    const cancelled = await a.api<RestoreView>("POST", `/restores/${restore.body.id}/cancel`);
    expect([cancelled.status, cancelled.body.node, cancelled.body.status]).toEqual([202, "node-b", "cancelled"]);

    // A pinned backup: on the node named; an unknown node is 422; a lost one 409 node_lost.
    const pinned = await a.api<BackupJobView>("POST", "/backups", externalJob("vm-pinned", { node: "node-c" }));
    expect([pinned.status, pinned.body.node]).toEqual([202, "node-c"]);
    const unknown = await a.api<ErrorBody>("POST", "/backups", externalJob("vm-x", { node: "node-x" }));
    expect([unknown.status, unknown.body.error.details?.node]).toEqual([422, "the name of a node (GET /nodes)"]);
    await b.kill();
    await waitFor(
      async () =>
        (await a.api<NodeList>("GET", "/nodes")).body.items.find((n) => n.name === "node-b")?.status === "lost",
      { timeoutMs: 15_000, what: "node B to show as lost" },
    );
    const lost = await a.api<ErrorBody>("POST", "/backups", externalJob("vm-y", { node: "node-b" }));
    expect([lost.status, lost.body.error.code]).toEqual([409, "node_lost"]);
    // Nor can an incremental whose chain is on the lost node go anywhere else.
    const incOnLost = await a.api<ErrorBody>("POST", "/backups", incremental);
    expect([incOnLost.status, incOnLost.body.error.code]).toEqual([409, "node_lost"]);
    // Unpinned, a lost node is never chosen.
    const placed = await a.api<BackupJobView>("POST", "/backups", externalJob("vm-z"));
    expect(placed.status).toBe(202);
    expect(["node-a", "node-c"]).toContain(placed.body.node);
    for (const s of [a, c]) expect(await s.stop()).toBe(143);
  });
});
