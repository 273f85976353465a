// Lost nodes and rejoin (issue 18, decision 031): three hubs on one Postgres; one is killed
// (SIGKILL) in the middle of a copy (its mover is stuck: stuck-mover.ts). Within the lease
// plus 10 s a live node fails its job ("node lost: NAME"), marks its export lost and releases
// its port, and the job (retries 1) starts again on a live node and completes. Nobody touches
// the dead node's qemu-nbd: the same process (pid and start time) still runs until the dead
// node comes back, whose own start ends it and removes the failed job's target before it
// says it is up.
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { NodeList } from "@/lib/api/schemas/nodes";
import type { BackupJobView } from "@/lib/backup/serialize";
import type { ExportInfo } from "@/lib/nbd/types";
import { readProcStat } from "@/lib/proc/stat";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { stuckMoverDir, type StuckMover } from "../helpers/stuck-mover";
import { waitFor } from "../helpers/wait";
import { killQemuNbdUnder, qemuNbdUnder } from "./nbd-helpers";

type Job = BackupJobView & { events?: { kind: string; message: string }[] };

const servers: TestServer[] = [];
let stuck: StuckMover | undefined;
let sources: string | undefined;
let url: string;
afterAll(async () => {
  for (const s of servers) await s.kill();
  for (const s of servers) await killQemuNbdUnder(s.dataDir);
  await stuck?.release();
  if (sources) await rm(sources, { recursive: true, force: true });
  if (url) await dropTestDatabase(url);
});

const LEASE = 3;

describe("a lost node", () => {
  it("its job fails (node lost) and completes elsewhere; its qemu-nbd is left alone; it rejoins clean", async () => {
    url = await createTestDatabase("nodes_recovery");
    const range = await freePortRange(3);
    const common = {
      DATABASE_URL: url,
      NBDHUB_PORT_RANGE: `${range.min}-${range.max}`,
      NBDHUB_NODE_HEARTBEAT_SECONDS: "1",
      NBDHUB_NODE_LEASE_SECONDS: String(LEASE),
    };
    // One sources folder for all (a re-queued job reads the same source on another node).
    sources = await mkdtemp(path.join(os.tmpdir(), "nbdhub-sources-"));
    await writeFile(path.join(sources, "disk.raw"), Buffer.alloc(4 * 1024 * 1024, 0x5a));
    const shared = { ...common, NBDHUB_SOURCES_DIR: sources, NBDHUB_DEMO_SOURCES: "0" };
    // Node C's copies never end: the kill strikes mid-copy, whatever the machine's speed.
    stuck = await stuckMoverDir();
    const [a, b, c] = await Promise.all([
      startServer({ ...shared, NBDHUB_NODE_NAME: "node-a" }),
      startServer({ ...shared, NBDHUB_NODE_NAME: "node-b" }),
      startServer({ ...shared, NBDHUB_NODE_NAME: "node-c", PATH: `${stuck.dir}:${process.env.PATH}` }),
    ]);
    servers.push(a, b, c);

    const created = await c.api<Job>("POST", "/backups", {
      vmName: "vm-lost",
      type: "full",
      retries: 1,
      disks: [{ diskId: "sda", source: "disk.raw" }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const id = created.body.id;
    const copying = await waitFor(
      async () => {
        const j = (await c.api<Job>("GET", `/backups/${id}`)).body;
        return j.disks[0].status === "transferring" && j.disks[0].pid !== null ? j : null;
      },
      { timeoutMs: 30_000, what: "the copy on node C to move" },
    );
    expect([copying.node, copying.status]).toEqual(["node-c", "running"]);
    const pid = copying.disks[0].pid!;
    const target = copying.disks[0].targetPath!;
    const startTime = (await readProcStat(pid))?.startTime;
    expect(startTime).toBeDefined();
    expect(existsSync(target)).toBe(true);

    await c.kill();
    const killedAt = Date.now();
    const failed = await waitFor(
      async () => {
        const j = (await a.api<Job>("GET", `/backups/${id}`)).body;
        return j.status === "failed" ? j : null;
      },
      { timeoutMs: (LEASE + 10) * 1000, what: "node C's job to fail as node lost" },
    );
    expect(Date.now() - killedAt).toBeLessThan((LEASE + 10) * 1000);
    expect([failed.node, failed.error, failed.disks[0].status]).toEqual(["node-c", "node lost: node-c", "failed"]);
    // Its export is marked lost, its port released; C shows as lost on both live nodes.
    const ended = (await b.api<{ processes: ExportInfo[] }>("GET", "/nbd/qemu-nbd?recent=600")).body.processes;
    expect(ended.filter((e) => e.jobId === id).map((e) => [e.node, e.status, e.pid])).toEqual([
      ["node-c", "lost", pid],
    ]);
    for (const s of [a, b]) {
      const nodes = (await s.api<NodeList>("GET", "/nodes")).body.items;
      expect(nodes.map((n) => [n.name, n.status, n.ports.allocated, n.jobsRunning])[2]).toEqual([
        "node-c",
        "lost",
        0,
        0,
      ]);
    }

    // Re-queued (retries 1 → 0) on a live node, where it completes.
    const requeued = await waitFor(
      async () => (await a.api<Job>("GET", `/backups/${id}`)).body.events?.find((e) => e.kind === "job.requeued"),
      { timeoutMs: 10_000, what: "the failed job to be re-queued" },
    );
    const match = /^re-queued as job (\S+) on node (node-[ab])$/.exec(requeued.message);
    expect(match, requeued.message).not.toBeNull();
    const nextId = match![1];
    const done = await waitFor(
      async () => {
        const j = (await b.api<Job>("GET", `/backups/${nextId}`)).body;
        return ["completed", "failed", "cancelled"].includes(j.status) ? j : null;
      },
      { timeoutMs: 60_000, what: "the re-queued job to end" },
    );
    expect([done.status, done.error, done.node, done.retries]).toEqual(["completed", null, match![2], 0]);

    // The dead node's qemu-nbd was never signalled: the same process still runs.
    expect((await readProcStat(pid))?.startTime).toBe(startTime);
    expect((await qemuNbdUnder(c.dataDir)).map((p) => p.pid)).toEqual([pid]);

    // C comes back: its start ends its orphan qemu-nbd and removes the failed job's target
    // before it is up; the job stays failed as the recovery left it.
    const c2 = await startServer({ ...shared, NBDHUB_NODE_NAME: "node-c", NBDHUB_DATA_DIR: c.dataDir });
    servers.push(c2);
    expect(await qemuNbdUnder(c.dataDir)).toEqual([]);
    expect(existsSync(target)).toBe(false);
    const after = (await c2.api<Job>("GET", `/backups/${id}`)).body;
    expect([after.status, after.error]).toEqual(["failed", "node lost: node-c"]);
    const nodes = (await c2.api<NodeList>("GET", "/nodes")).body.items;
    expect(nodes.map((n) => [n.name, n.status])).toEqual([
      ["node-a", "up"],
      ["node-b", "up"],
      ["node-c", "up"],
    ]);
    for (const s of [a, b, c2]) expect(await s.stop()).toBe(143);
  });
});
