// A single hub upgraded to nodes (migrations 20261206000100_nodes and 20261206000200_pool_sample_node,
// decision 026): its rows get the empty node, and the first node to start claims them all in one
// statement (its pool history too); a later node finds none, and keeps its own pool beside the
// first one's.
import { cp, mkdtemp, readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "@/lib/db/migrator";
import { createDb, type Db } from "@/lib/db/prisma";
import { createLogger } from "@/lib/log";
import { PortPool } from "@/lib/nbd/port-pool";
import { claimUnownedRows } from "@/lib/node/claim";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";

const migrationsDir = path.resolve(__dirname, "../../prisma/migrations");
const NODES = "20261206000100_nodes";
const SAMPLES = "20261206000200_pool_sample_node";
const TABLES = [
  "port_pool",
  "port_slots",
  "port_allocations",
  "nbd_exports",
  "backup_jobs",
  "restores",
  "pool_samples",
];
const log = createLogger("test", () => undefined);
let url: string;
let db: Db | undefined;

afterAll(async () => {
  await db?.$disconnect();
  if (url) await dropTestDatabase(url);
});

async function sql<T extends pg.QueryResultRow>(text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe("upgrading a single hub to nodes", () => {
  it("gives old rows no node, and the first node to start takes them all, once", async () => {
    url = await createTestDatabase("nodeup");
    // The database as the hub left it before nodes: every migration before this one (those after
    // it, later steps of nodes, come with the upgrade).
    const before = await mkdtemp(path.join(os.tmpdir(), "nbdhub-mig-"));
    const entries = await readdir(migrationsDir);
    const upgrade = entries.filter((e) => /^\d{14}_/.test(e) && e >= NODES).sort();
    for (const entry of entries)
      if (!upgrade.includes(entry))
        await cp(path.join(migrationsDir, entry), path.join(before, entry), { recursive: true });
    await migrate(url, before);
    await sql(`INSERT INTO port_pool (id, min_port, max_port) VALUES (1, 20100, 20103)`);
    await sql(`INSERT INTO backup_jobs (id, vm_name, type, status) VALUES ('old-job', 'vm', 'full', 'running')`);
    await sql(
      `INSERT INTO restores (id, job_id, vm_name, mode, status) VALUES ('old-restore', 'old-job', 'vm', 'export', 'ready')`,
    );
    await sql(
      `INSERT INTO port_allocations (port, job_id, vm_name, export_name) VALUES (20100, 'old-job', 'vm', 'e0')`,
    );
    await sql(`INSERT INTO nbd_exports (id, port, export_name, file_path, job_id, vm_name, disk_id, status)
               VALUES ('exp_old', 20100, 'e0', '/r/e0.qcow2', 'old-job', 'vm', 'd0', 'ready')`);
    await sql(`INSERT INTO pool_samples (at, total, allocated, exports) VALUES (now() - interval '1 minute', 4, 1, 1)`);

    expect(upgrade.slice(0, 2)).toEqual([NODES, SAMPLES]);
    expect(await migrate(url, migrationsDir)).toEqual(upgrade);
    for (const table of TABLES) {
      const nodes = await sql<{ node: string }>(`SELECT DISTINCT node FROM ${table}`);
      expect(nodes, table).toEqual([{ node: "" }]);
    }
    // The column has no default: a writer that names no node is refused.
    await expect(
      sql(`INSERT INTO backup_jobs (id, vm_name, type, status) VALUES ('x', 'vm', 'full', 'queued')`),
    ).rejects.toThrow(/null value in column "node"/);

    // The first node: its pool first (configure at start), then the claim, before it reconciles.
    db = createDb(url);
    const range = { min: 20100, max: 20103 };
    const first = new PortPool(db, { portRange: range, nbdBind: "127.0.0.1", nodeName: "hub-1" }, log);
    await first.configure();
    expect(await claimUnownedRows(db, "hub-1")).toEqual({ allocations: 1, exports: 1, jobs: 1, restores: 1 });
    for (const table of TABLES) {
      const nodes = await sql<{ node: string }>(`SELECT DISTINCT node FROM ${table}`);
      expect(nodes, table).toEqual([{ node: "hub-1" }]);
    }
    expect((await sql(`SELECT port FROM port_slots ORDER BY port`)).length).toBe(4);
    expect(await first.get(20100)).toMatchObject({ node: "hub-1", jobId: "old-job" });

    // A second node claims nothing, and holds the same numbers in its own pool.
    expect(await claimUnownedRows(db, "hub-2")).toEqual({ allocations: 0, exports: 0, jobs: 0, restores: 0 });
    const second = new PortPool(db, { portRange: range, nbdBind: "127.0.0.1", nodeName: "hub-2" }, log);
    await second.configure();
    expect((await second.allocate({ jobId: "new-job", vmName: "vm", exportName: "e1" })).port).toBe(20100);
    expect((await first.allocate({ jobId: "new-job", vmName: "vm", exportName: "e2" })).port).toBe(20101);
    // Its range is its own row: a narrower range on hub-2 leaves hub-1's slots alone.
    const narrower = new PortPool(
      db,
      { portRange: { min: 20100, max: 20101 }, nbdBind: "127.0.0.1", nodeName: "hub-2" },
      log,
    );
    await narrower.configure();
    const slots = await sql<{ node: string; n: number }>(
      `SELECT node, count(*)::int AS n FROM port_slots GROUP BY node ORDER BY node`,
    );
    expect(slots).toEqual([
      { node: "hub-1", n: 4 },
      { node: "hub-2", n: 2 },
    ]);
  });
});
