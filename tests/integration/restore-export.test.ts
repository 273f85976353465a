// Restore by export (issue 14): every point of a chain of one full and three incrementals,
// built from scratch through POST /backups, served read-only over NBD gives exactly the source
// as it was at that point; a write through the export fails; at expiry the port is free and
// its qemu-nbd has exited. Also: the VMs and restore-points reads, extend, and the point in use.
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db/prisma";
import { isPointInUse } from "@/lib/restore/in-use";
import { processesOf } from "../helpers/processes";
import { buildChain, restoreWhen, type ChainPoint, type Restore } from "../helpers/restore-chain";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor } from "../helpers/wait";

const run = promisify(execFile);
const fleet = new ServerFleet("restexp");
let server: TestServer;
let points: ChainPoint[];
let db: Db;
let work: string;

beforeAll(async () => {
  server = await fleet.start({}, { ports: 6 });
  work = await fs.mkdtemp(path.join(os.tmpdir(), "nbdhub-restore-export-"));
  points = await buildChain(server, "rvm", path.join(work, "snapshots"));
  db = createDb(server.env.DATABASE_URL);
}, 300_000);

afterAll(async () => {
  await db?.$disconnect();
  await fleet.end();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function exportPoint(jobId: string, ttlSeconds = 600): Promise<Restore> {
  const r = await server.api<Restore>("POST", "/restores", { jobId, mode: "export", ttlSeconds });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return restoreWhen(server, r.body.id, (x) => x.status !== "running", "to be served");
}

describe("restore points", () => {
  it("lists the VM and its four points, newest first, each disk with its chain", async () => {
    const vms = await server.api<{
      items: { vmName: string; restorePoints: number; disks: string[]; lastStatus: string; repositoryBytes: number }[];
    }>("GET", "/vms");
    expect(vms.status).toBe(200);
    const vm = vms.body.items.find((v) => v.vmName === "rvm");
    expect(vm).toMatchObject({ restorePoints: 4, disks: ["sda"], lastStatus: "completed" });
    expect(vm!.repositoryBytes).toBeGreaterThan(0);
    const list = await server.api<{
      items: { jobId: string; type: string; disks: { chain: string[]; path: string; virtualSize: number }[] }[];
    }>("GET", "/vms/rvm/restore-points");
    expect(list.status).toBe(200);
    expect(list.body.items.map((p) => p.jobId)).toEqual([...points].reverse().map((p) => p.jobId));
    expect(list.body.items.map((p) => p.disks[0].chain.length)).toEqual([4, 3, 2, 1]);
    const [newest] = list.body.items;
    expect(newest.disks[0].chain[0]).toBe(newest.disks[0].path);
    expect(newest.disks[0].virtualSize).toBe(16 * 1024 * 1024);
    expect((await server.api("GET", "/vms/nosuchvm/restore-points")).status).toBe(404);
  });
});

describe("restore by export", () => {
  it("serves each point read-only with exactly the source's content at that point", { timeout: 180_000 }, async () => {
    for (const [i, point] of points.entries()) {
      const restore = await exportPoint(point.jobId);
      expect(restore.status, restore.error ?? "").toBe("ready");
      const [disk] = restore.disks;
      expect(disk.nbdUri).toMatch(/^nbd:\/\/127\.0\.0\.1:\d+\//);
      expect(disk.chain).toHaveLength(i + 1);
      const exp = await server.api<{ readOnly: boolean; ownerKind: string; jobId: string }>(
        "GET",
        `/nbd/qemu-nbd/${disk.port}`,
      );
      expect(exp.body).toMatchObject({ readOnly: true, ownerKind: "restore", jobId: restore.id });
      const out = path.join(work, `read-${i}.raw`);
      await run("nbdcopy", [disk.nbdUri!, out]);
      const [read, snapshot] = await Promise.all([fs.readFile(out), fs.readFile(point.snapshot)]);
      expect(read.equals(snapshot), `point ${i} (${point.type}) must read as the source did then`).toBe(true);
      if (i === points.length - 1) {
        // A write through the export fails (qemu-nbd --read-only; the client is told so).
        const write = await run("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 0 64k", disk.nbdUri!]).then(
          () => "written",
          (e: { stderr?: string }) => e.stderr ?? "failed",
        );
        expect(write).not.toBe("written");
        const info = await run("nbdinfo", ["--json", disk.nbdUri!]);
        expect(JSON.parse(info.stdout).exports[0]["is_read_only"]).toBe(true);
        // The full backup is in this point's chain: it is in use until the restore ends.
        expect(await isPointInUse(db, points[0].jobId)).toBe(true);
      }
      const cancelled = await server.api<Restore>("POST", `/restores/${restore.id}/cancel`);
      expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(202);
      expect(cancelled.body.status).toBe("cancelled");
      expect((await server.api("GET", `/nbd/ports/${disk.port}`)).status).toBe(404);
    }
    expect(await isPointInUse(db, points[0].jobId)).toBe(false);
    const again = await server.api<{ error: { code: string } }>(
      "POST",
      `/restores/${(await server.api<{ items: Restore[] }>("GET", "/restores")).body.items[0].id}/cancel`,
    );
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("restore_finished");
  });

  it(
    "expires: its port is free and its qemu-nbd has exited; extend moves the expiry",
    { timeout: 60_000 },
    async () => {
      const restore = await exportPoint(points[1].jobId, 2);
      expect(restore.status).toBe("ready");
      const { port, pid } = restore.disks[0];
      expect(isAlive(pid!)).toBe(true);
      const ended = await restoreWhen(server, restore.id, (r) => r.status !== "ready", "to expire", 20_000);
      expect(ended.status).toBe("expired");
      expect(ended.disks[0].status).toBe("expired");
      expect((await server.api("GET", `/nbd/ports/${port}`)).status, "the port must be free").toBe(404);
      await waitFor(() => !isAlive(pid!), { timeoutMs: 5000, what: `qemu-nbd ${pid} to exit` });
      expect(await processesOf(path.join(server.dataDir, "run"))).toEqual([]);

      const longer = await exportPoint(points[1].jobId, 30);
      const before = Date.parse(longer.expiresAt!);
      const extended = await server.api<Restore>("POST", `/restores/${longer.id}/extend`, { ttlSeconds: 600 });
      expect(extended.status, JSON.stringify(extended.body)).toBe(200);
      expect(Date.parse(extended.body.expiresAt!) - before).toBeGreaterThanOrEqual(600_000);
      expect((await server.api("POST", `/restores/${longer.id}/cancel`)).status).toBe(202);
      const audit = await server.api<{ items: { action: string; target: string | null }[] }>("GET", "/audit?limit=50");
      const actions = audit.body.items.map((a) => a.action);
      expect(actions).toEqual(expect.arrayContaining(["restore.start", "restore.extend", "restore.cancel"]));
      const start = audit.body.items.find((a) => a.action === "restore.start" && a.target?.includes(longer.id));
      expect(start?.target).toContain(`point:${points[1].jobId}`);
    },
  );
});
