// Prune per node (issue 18, decision 033): two hubs on one Postgres, each its own data directory
// (its repository), one VM with full backups on both (pinned with `node`). A prune asked of node
// A runs on each node holding points, each removing its own surplus only (a backup under way on
// A holds A's part, not B's): A's repository keeps A's kept point, B's keeps B's, B's kept point
// is still restorable (through A, run by B), and B's log says A asked it. Then B is lost: a
// prune through A removes A's surplus, counting B's newer points for nothing, leaves B's points
// and files alone (not marked pruned), and says so in `skipped`. And the prune after a policy
// run (claimed by either node) removes the other node's surplus on that node.
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { NodeList } from "@/lib/api/schemas/nodes";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { filesUnder, imagesIdentical, makeImage } from "../helpers/images";
import { freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { externalJob } from "../helpers/external-job";
import { killQemuNbdUnder } from "./nbd-helpers";

type Job = { id: string; node: string; status: string; error: string | null; disks: { targetPath: string }[] };
type Skipped = { node: string; code: string; reason: string };
type Preview = {
  keep: { jobId: string; reasons: string[]; node: string }[];
  remove: { jobId: string; reason: string; node: string }[];
  merged: string[];
  skipped: Skipped[];
};
type Pruned = { removed: string[]; merged: string[]; skipped: Skipped[] };
type Restore = { id: string; node: string; status: string; error: string | null };

const servers: TestServer[] = [];
const databases: string[] = [];
let url: string;
afterAll(async () => {
  for (const s of servers) if (s.alive()) await s.kill();
  for (const s of servers) await killQemuNbdUnder(s.dataDir);
  for (const d of databases) await dropTestDatabase(d);
});

/** Two nodes on a new database, each with the guest's image in its sources. */
async function twoNodes(prefix: string): Promise<[TestServer, TestServer]> {
  url = await createTestDatabase(prefix);
  databases.push(url);
  const range = await freePortRange(8);
  const common = { DATABASE_URL: url, NBDHUB_NODE_HEARTBEAT_SECONDS: "1", NBDHUB_NODE_LEASE_SECONDS: "3" };
  const [a, b] = await Promise.all(
    ["node-a", "node-b"].map((name, i) =>
      startServer({
        ...common,
        NBDHUB_NODE_NAME: name,
        NBDHUB_DEMO_SOURCES: "0",
        NBDHUB_PORT_RANGE: `${range.min + 4 * i}-${range.min + 4 * i + 3}`,
      }),
    ),
  );
  servers.push(a, b);
  // The same guest on both hosts (each node reads its own sources folder).
  for (const s of [a, b]) await makeImage(path.join(s.dataDir, "sources", "vm.img"), { sizeMiB: 8, randomMiB: 1 });
  return [a, b];
}

async function prunedAt(ids: string[]): Promise<Record<string, boolean>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ id: string; pruned: boolean }>(
      "SELECT id, pruned_at IS NOT NULL AS pruned FROM backup_jobs WHERE id = ANY($1)",
      [ids],
    );
    return Object.fromEntries(r.rows.map((row) => [row.id, row.pruned]));
  } finally {
    await client.end();
  }
}

/** A policy of the VM that keeps its last `keepLast` points (its schedule far off); its id. */
async function policy(via: TestServer, name: string, keepLast: number): Promise<string> {
  const created = await via.api<{ id: string }>("POST", "/policies", {
    name,
    vmName: "vm-split",
    disks: [{ diskId: "d0", source: "vm.img" }],
    schedule: "0 0 1 1 *",
    retention: { keepLast },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id;
}

/** A full backup of the VM pinned to `node`, sent to `via`, waited until it ends. */
async function backup(via: TestServer, node: string): Promise<Job> {
  const r = await via.api<Job>("POST", "/backups", {
    vmName: "vm-split",
    type: "full",
    node,
    disks: [{ diskId: "d0", source: "vm.img" }],
  });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  expect(r.body.node).toBe(node);
  const job = await waitFor(
    async () => {
      const j = await via.api<Job>("GET", `/backups/${r.body.id}`);
      return ["completed", "failed", "cancelled"].includes(j.body.status) ? j.body : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `backup ${r.body.id} to end` },
  );
  expect(job.status, job.error ?? "").toBe("completed");
  return job;
}

const repo = (s: TestServer) => path.join(s.dataDir, "repository");
const byId = (items: { jobId: string; node: string }[]) => Object.fromEntries(items.map((i) => [i.jobId, i.node]));

describe("prune over two nodes", () => {
  it("each node prunes its own points only; a lost node's are left alone and named", { timeout: 240_000 }, async () => {
    const [a, b] = await twoNodes("nodes_prune");

    // Oldest first: A1, B1, A2, B2.
    const a1 = await backup(a, "node-a");
    const b1 = await backup(a, "node-b");
    const a2 = await backup(a, "node-a");
    const b2 = await backup(a, "node-b");
    expect(await filesUnder(repo(a))).toEqual([a1, a2].map((j) => j.disks[0].targetPath).sort());
    expect(await filesUnder(repo(b))).toEqual([b1, b2].map((j) => j.disks[0].targetPath).sort());

    const id = await policy(a, "split", 2);

    // Retention counts the VM's points on both nodes; each point names the node that holds it.
    const preview = await a.api<Preview>("GET", `/policies/${id}/prune-preview`);
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(byId(preview.body.keep)).toEqual({ [a2.id]: "node-a", [b2.id]: "node-b" });
    expect(byId(preview.body.remove)).toEqual({ [a1.id]: "node-a", [b1.id]: "node-b" });
    expect(preview.body.skipped).toEqual([]);

    // A backup of the VM under way on A holds A's part only (the rule is per node): B does its
    // part, A is named as busy.
    const running = await a.api<Job>("POST", "/backups", externalJob("vm-split", { node: "node-a", diskId: "d0" }));
    expect(running.status, JSON.stringify(running.body)).toBe(202);
    const busy = await a.api<Pruned>("POST", `/policies/${id}/prune`);
    expect(busy.status, JSON.stringify(busy.body)).toBe(200);
    expect(busy.body.removed).toEqual([b1.id]);
    expect(busy.body.skipped.map((s) => [s.node, s.code])).toEqual([["node-a", "prune_busy"]]);
    expect(await filesUnder(repo(b))).toEqual([b2.disks[0].targetPath]);
    expect((await a.api("POST", `/backups/${running.body.id}/cancel`)).status).toBe(202);
    await waitFor(async () => ((await filesUnder(repo(a))).length === 2 ? true : undefined), {
      timeoutMs: 15_000,
      what: "the cancelled backup's target to be removed",
    });

    const pruned = await a.api<Pruned>("POST", `/policies/${id}/prune`);
    expect(pruned.status, JSON.stringify(pruned.body)).toBe(200);
    expect(pruned.body.removed).toEqual([a1.id]);
    expect(pruned.body.skipped).toEqual([]);
    // Each repository keeps its own kept point, nothing else.
    expect(await filesUnder(repo(a))).toEqual([a2.disks[0].targetPath]);
    expect(await filesUnder(repo(b))).toEqual([b2.disks[0].targetPath]);
    expect(await prunedAt([a1.id, b1.id, a2.id, b2.id])).toEqual({
      [a1.id]: true,
      [b1.id]: true,
      [a2.id]: false,
      [b2.id]: false,
    });
    // B did its part itself, asked by A.
    expect(b.output()).toMatch(/node-a asked for policy\.prune(?!Preview)/);

    // B's kept point is restorable: a copy through A runs on B and reads as the point (and the point as the guest).
    const restore = await a.api<Restore>("POST", "/restores", {
      jobId: b2.id,
      mode: "copy",
      destination: { path: "b2-restored.raw" },
    });
    expect([restore.status, restore.body.node], JSON.stringify(restore.body)).toEqual([202, "node-b"]);
    const done = await waitFor(
      async () => {
        const r = await a.api<Restore>("GET", `/restores/${restore.body.id}`);
        return ["completed", "failed", "cancelled"].includes(r.body.status) ? r.body : undefined;
      },
      { timeoutMs: 60_000, what: "the restore of B's point to end" },
    );
    expect(done.status, done.error ?? "").toBe("completed");
    const sources = path.join(b.dataDir, "sources");
    const point = b2.disks[0].targetPath;
    expect(await imagesIdentical(path.join(sources, "vm.img"), "raw", point), "B2 holds the guest").toBe(true);
    expect(await imagesIdentical(path.join(sources, "b2-restored.raw"), "raw", point), "restored as B2").toBe(true);

    // B's point stays the newest (A3, then B3); then B is lost. Under keepLast 1, counted, B3
    // would take A's every point: it counts for nothing, A keeps A3, removes A2, and leaves
    // B's points and files alone, unmarked.
    const a3 = await backup(a, "node-a");
    const b3 = await backup(a, "node-b");
    expect(await b.stop()).toBe(143);
    await waitFor(
      async () =>
        (await a.api<NodeList>("GET", "/nodes")).body.items.find((n) => n.name === "node-b")?.status === "lost",
      { timeoutMs: 15_000, what: "node B to show as lost" },
    );
    expect((await a.api("PATCH", `/policies/${id}`, { retention: { keepLast: 1 } })).status).toBe(200);
    const lostPreview = await a.api<Preview>("GET", `/policies/${id}/prune-preview`);
    expect(lostPreview.status, JSON.stringify(lostPreview.body)).toBe(200);
    expect(byId(lostPreview.body.keep)).toEqual({ [a3.id]: "node-a" });
    expect(byId(lostPreview.body.remove)).toEqual({ [a2.id]: "node-a" });
    expect(lostPreview.body.skipped.map((s) => [s.node, s.code])).toEqual([["node-b", "node_lost"]]);

    const lostPrune = await a.api<Pruned>("POST", `/policies/${id}/prune`);
    expect(lostPrune.status, JSON.stringify(lostPrune.body)).toBe(200);
    expect(lostPrune.body.removed).toEqual([a2.id]);
    expect(lostPrune.body.skipped.map((s) => [s.node, s.code])).toEqual([["node-b", "node_lost"]]);
    expect(lostPrune.body.skipped[0].reason).toContain("left alone");
    expect(await filesUnder(repo(a))).toEqual([a3.disks[0].targetPath]);
    expect(await filesUnder(repo(b)), "B's points' files are all there").toEqual(
      [b2, b3].map((j) => j.disks[0].targetPath).sort(),
    );
    expect(await prunedAt([a2.id, a3.id, b2.id, b3.id])).toEqual({
      [a2.id]: true,
      [a3.id]: false,
      [b2.id]: false,
      [b3.id]: false,
    });
    expect(await a.stop()).toBe(143);
  });

  it("the prune after a policy run covers both nodes, whichever claims it", { timeout: 120_000 }, async () => {
    const [a, b] = await twoNodes("nodes_prune_run");
    const older = await backup(a, "node-b");
    const run = await a.api<Job>("POST", `/policies/${await policy(a, "after-run", 1)}/run`);
    expect(run.status, JSON.stringify(run.body)).toBe(202);
    // The run's job is on A (the answering node); B's older point goes, by B, after the run.
    await waitFor(async () => ((await prunedAt([older.id]))[older.id] ? true : undefined), {
      timeoutMs: 60_000,
      what: "B's older point to be pruned after the policy run",
    });
    const job = (await a.api<Job>("GET", `/backups/${run.body.id}`)).body;
    expect([job.node, job.status]).toEqual(["node-a", "completed"]);
    expect(await filesUnder(repo(b))).toEqual([]);
    expect(await filesUnder(repo(a))).toEqual([job.disks[0].targetPath]);
    for (const s of [a, b]) expect(await s.stop()).toBe(143);
  });
});
