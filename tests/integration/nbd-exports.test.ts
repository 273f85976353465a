// The export manager and the reconciler in-process, against real qemu-nbd and PostgreSQL:
// start/stop, an exit noticed from the exit event, a start that fails leaving nothing behind,
// "Address already in use" answered with the next port, and adoption after a restart.
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, describe, expect, it, onTestFinished } from "vitest";
import { parseConfig, type Config } from "@/lib/config/env";
import { migrate } from "@/lib/db/migrator";
import { createDb, type Db } from "@/lib/db/prisma";
import { createLogger } from "@/lib/log";
import { ExportManager } from "@/lib/nbd/export-manager";
import { insertStartingRow, type StartingRow } from "@/lib/nbd/export-rows";
import { isUniqueViolation } from "@/lib/db/prisma-code";
import { PortPool } from "@/lib/nbd/port-pool";
import { readProcStat } from "@/lib/proc/stat";
import { pidFileFor, qemuNbdArgs } from "@/lib/nbd/qemu-nbd-command";
import { spawnQemuNbd, terminate } from "@/lib/nbd/qemu-nbd-process";
import { waitForPidFile } from "@/lib/nbd/ready-wait";
import { reconcileExports } from "@/lib/nbd/reconciler";
import type { ExportExit } from "@/lib/nbd/types";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { waitFor, withDeadline } from "../helpers/wait";
import { killQemuNbdUnder, makeQcow2, nbdinfo, qemuNbdUnder } from "./nbd-helpers";

const log = createLogger("test", process.env.NBD_TEST_LOG ? undefined : () => undefined);
type Env = { config: Config; db: Db; pool: PortPool; exports: ExportManager; url: string; repo: string };
const envs: Env[] = [];
const urls: string[] = [];

async function setup(
  size = 4,
  { probe }: { probe?: (port: number) => Promise<boolean> } = {},
  reuse?: Env,
): Promise<Env> {
  const range = reuse?.config.portRange ?? (await freePortRange(size));
  const url = reuse?.url ?? (await createTestDatabase("exp"));
  if (!reuse) {
    urls.push(url);
    await migrate(url, path.resolve(__dirname, "../../prisma/migrations"));
  }
  const dataDir = reuse?.config.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), "nbdhub-exp-")));
  const config = parseConfig({
    NBDHUB_DATA_DIR: dataDir,
    DATABASE_URL: url,
    NBDHUB_PORT_RANGE: `${range.min}-${range.max}`,
  });
  await Promise.all([mkdir(config.repositoryDir, { recursive: true }), mkdir(config.runDir, { recursive: true })]);
  const db = createDb(url);
  const node = config.nodeName;
  await db.portPool.upsert({ where: { node }, create: { node, minPort: range.min, maxPort: range.max }, update: {} });
  const pool = new PortPool(db, config, log, probe);
  const env = { config, db, pool, exports: new ExportManager(db, pool, config, log), url, repo: config.repositoryDir };
  envs.push(env);
  return env;
}

const job = { jobId: "job-1", vmName: "vm1", diskId: "disk0" };

afterEach(async () => {
  for (const env of envs.splice(0)) {
    await env.exports.stopAll();
    expect(await killQemuNbdUnder(env.config.dataDir)).toBe(0);
    await env.db.$disconnect();
    await rm(env.config.dataDir, { recursive: true, force: true });
  }
});
afterAll(async () => {
  for (const url of urls) await dropTestDatabase(url);
});

/** Nothing of a refused start may remain: no row, no allocation, no process. */
async function expectNothingLeft(env: Env) {
  expect(await env.db.nbdExport.count()).toBe(0);
  expect(await env.db.portAllocation.count()).toBe(0);
  expect(await qemuNbdUnder(env.config.dataDir)).toEqual([]);
}

describe("export manager", () => {
  it("starts an export that serves the image, and stops it cleanly, releasing the port", async () => {
    const env = await setup();
    const file = await makeQcow2(path.join(env.repo, "vm1", "disk0.qcow2"), "32M");
    const started = await env.exports.startOnFreePort({ ...job, exportName: "vm1-disk0", filePath: "vm1/disk0.qcow2" });
    expect(started).toMatchObject({
      port: env.config.portRange.min,
      status: "ready",
      filePath: file,
      uri: `nbd://127.0.0.1:${started.port}/vm1-disk0`,
    });
    const row = await env.db.nbdExport.findFirstOrThrow({ where: { port: started.port } });
    expect(row.pid).toBe(started.pid);
    expect(row.pidStartTime).not.toBeNull();
    expect(existsSync(row.pidFile!)).toBe(true);
    const info = await nbdinfo(started.uri);
    expect(info.exports[0]).toMatchObject({ "export-name": "vm1-disk0", "export-size": 32 * 1024 * 1024 });
    expect(await env.pool.get(started.port)).toMatchObject({ jobId: "job-1", exportName: "vm1-disk0" });
    expect(await env.exports.isActive(started.port)).toBe(true);

    const exits: ExportExit[] = [];
    env.exports.on("exit", (e: ExportExit) => exits.push(e));
    expect(await env.exports.stop(started.port)).toEqual({ port: started.port, clean: true });
    const after = await env.db.nbdExport.findUniqueOrThrow({ where: { id: row.id } });
    expect(after).toMatchObject({ status: "stopped", exitCode: 0 });
    expect(after.stoppedAt).not.toBeNull();
    expect(existsSync(row.pidFile!)).toBe(false);
    expect(await env.pool.isAllocated(started.port)).toBe(false);
    expect(exits).toMatchObject([{ expected: true, exitCode: 0, export: { status: "stopped" } }]);
    expect(await env.exports.stop(started.port)).toBeNull();
  });

  it("serves read-only when asked; notices a qemu-nbd killed with SIGKILL from its exit event: crashed, port released, exit emitted", async () => {
    const env = await setup();
    await makeQcow2(path.join(env.repo, "a.qcow2"));
    const started = await env.exports.start({
      ...job,
      port: env.config.portRange.max,
      exportName: "a",
      filePath: "a.qcow2",
      readOnly: true,
    });
    expect(started.readOnly).toBe(true);
    expect((await nbdinfo(started.uri)).exports[0].is_read_only).toBe(true);
    const exit = new Promise<ExportExit>((resolve) => env.exports.once("exit", resolve));
    const killedAt = Date.now();
    process.kill(started.pid!, "SIGKILL");
    const e = await exit;
    expect(Date.now() - killedAt).toBeLessThan(1000);
    expect(e).toMatchObject({ expected: false, signal: "SIGKILL", export: { status: "crashed", port: started.port } });
    expect(await env.exports.get(started.port)).toMatchObject({
      status: "crashed",
      error: expect.stringMatching(/SIGKILL/),
    });
    expect(await env.pool.isAllocated(started.port)).toBe(false);
    expect(await env.exports.count()).toBe(0);
  });

  it("stops qemu-nbd with SIGTERM even right at readiness, when it can drop one", async () => {
    const env = await setup(1);
    const file = await makeQcow2(path.join(env.repo, "a.qcow2"));
    const port = env.config.portRange.min;
    // Without repeating SIGTERM, about 3 in 40 of these would need the SIGKILL deadline.
    for (let i = 0; i < 40; i += 1) {
      const pidFile = pidFileFor(env.config.runDir, port, `t${i}`);
      const proc = await spawnQemuNbd(
        qemuNbdArgs({
          exportName: "a",
          bind: "127.0.0.1",
          port,
          shared: 1,
          pidFile,
          cache: "writeback",
          readOnly: false,
          file,
        }),
      );
      if (proc.pid === null) throw new Error(proc.error);
      expect((await waitForPidFile(proc, pidFile, 10_000)).kind).toBe("ready");
      expect(await terminate(proc, 2000)).toEqual({ killed: false });
      expect(await withDeadline(proc.exited, 15_000, "qemu-nbd to exit after SIGTERM")).toMatchObject({ exitCode: 0 });
    }
  });

  it("leaves nothing behind when a start is refused", async () => {
    const env = await setup();
    const { min } = env.config.portRange;
    await writeFile(path.join(env.repo, "raw.img"), Buffer.alloc(1024 * 1024));
    await mkdir(path.join(env.repo, "dir"));
    const outside = await mkdtemp(path.join(os.tmpdir(), "nbdhub-outside-"));
    onTestFinished(() => rm(outside, { recursive: true, force: true }));
    await makeQcow2(path.join(outside, "secret.qcow2"));
    await symlink(path.join(outside, "secret.qcow2"), path.join(env.repo, "link.qcow2"));
    const start = (filePath: string, extra: Partial<{ exportName: string; port: number }> = {}) =>
      env.exports.start({ ...job, port: min, exportName: "e", filePath, ...extra });

    await expect(start("raw.img")).rejects.toMatchObject({
      kind: "invalid",
      code: "qemu_nbd_refused",
      message: expect.stringMatching(/Image is not in qcow2 format/),
    });
    await expect(start("missing.qcow2")).rejects.toMatchObject({ kind: "invalid", code: "file_not_found" });
    await expect(start(path.join(outside, "secret.qcow2"))).rejects.toMatchObject({
      kind: "invalid",
      code: "path_not_allowed",
    });
    await expect(start("../" + path.basename(outside) + "/secret.qcow2")).rejects.toMatchObject({
      kind: "invalid",
      code: "path_not_allowed",
    });
    await expect(start("link.qcow2")).rejects.toMatchObject({ kind: "invalid", code: "path_not_allowed" });
    await expect(start("dir")).rejects.toMatchObject({ kind: "invalid", code: "not_a_file" });
    await expect(start("raw.img", { exportName: "a b;rm -rf /" })).rejects.toMatchObject({
      kind: "invalid",
      code: "validation_failed",
    });
    await expect(start("raw.img", { port: env.config.portRange.max + 1 })).rejects.toMatchObject({
      kind: "invalid",
      code: "port_out_of_range",
    });
    await expectNothingLeft(env);
  });

  it("refuses a second export on a port, and a port held by another job", async () => {
    const env = await setup();
    const { min, max } = env.config.portRange;
    await makeQcow2(path.join(env.repo, "a.qcow2"));
    await makeQcow2(path.join(env.repo, "b.qcow2"));
    await env.exports.start({ ...job, port: min, exportName: "a", filePath: "a.qcow2" });
    await expect(env.exports.start({ ...job, port: min, exportName: "b", filePath: "b.qcow2" })).rejects.toMatchObject({
      kind: "conflict",
      code: "port_in_use",
    });
    await env.pool.allocatePort(max, { jobId: "other", vmName: "vm", exportName: "x" });
    await expect(env.exports.start({ ...job, port: max, exportName: "b", filePath: "b.qcow2" })).rejects.toMatchObject({
      kind: "conflict",
      code: "port_in_use",
    });
    // The same image twice: qemu's image lock refuses, in its own words.
    await expect(env.exports.startOnFreePort({ ...job, exportName: "a2", filePath: "a.qcow2" })).rejects.toMatchObject({
      kind: "conflict",
      code: "file_in_use",
    });
    expect(await env.exports.count()).toBe(1);
    expect((await env.pool.list()).map((a) => a.port)).toEqual([min, max]);
  });

  it("gives one port to one of many starts sent at once, and stops a job's exports together (issue 15)", async () => {
    const env = await setup();
    const { min } = env.config.portRange;
    await Promise.all([0, 1, 2, 3, 4, 5, 6].map((i) => makeQcow2(path.join(env.repo, `c${i}.qcow2`))));
    // Five starts for one free port, two jobs: the checks all find it free; the statement that
    // allocates it and inserts the row decides.
    const outcomes = await Promise.allSettled(
      [0, 1, 2, 3, 4].map((i) =>
        env.exports.start({ ...job, jobId: `job-${i % 2}`, port: min, exportName: `c${i}`, filePath: `c${i}.qcow2` }),
      ),
    );
    const won = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
    const refused = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as { code?: string }] : []));
    expect(won, JSON.stringify(refused)).toHaveLength(1);
    expect(refused.map((e) => e.code)).toEqual(["port_in_use", "port_in_use", "port_in_use", "port_in_use"]);
    expect(await env.pool.list()).toMatchObject([{ port: min, jobId: won[0].jobId }]);
    expect(await env.db.nbdExport.count()).toBe(1);
    expect(await qemuNbdUnder(env.config.dataDir)).toHaveLength(1);

    // Two more of the winner's job, on images none of the five starts had (the winner still holds
    // its own: a second qemu-nbd on it would find it locked); stopJob stops all three, ends their
    // rows, frees their ports.
    const more = await Promise.all(
      [1, 2].map((i) =>
        env.exports.start({
          ...job,
          jobId: won[0].jobId,
          port: min + i,
          exportName: `m${i}`,
          filePath: `c${i + 4}.qcow2`,
        }),
      ),
    );
    const exits: ExportExit[] = [];
    env.exports.on("exit", (e: ExportExit) => exits.push(e));
    const stopped = await env.exports.stopJob(won[0].jobId);
    expect(stopped).toEqual([min, min + 1, min + 2].map((port) => ({ port, clean: true })));
    const rows = await env.db.nbdExport.findMany({ orderBy: { port: "asc" } });
    expect(rows.map((r) => [r.port, r.status, r.exitCode])).toEqual([
      [min, "stopped", 0],
      [min + 1, "stopped", 0],
      [min + 2, "stopped", 0],
    ]);
    expect(await env.db.portAllocation.count()).toBe(0);
    expect(await qemuNbdUnder(env.config.dataDir)).toEqual([]);
    // What the exit events say is what the rows say.
    const byPort = (e: ExportExit) => e.export.port;
    expect(exits.sort((a, b) => byPort(a) - byPort(b)).map((e) => e.export)).toEqual(
      rows.map((r) => ({
        ...[won[0], ...more].find((s) => s.port === r.port),
        status: "stopped",
        uptimeSeconds: null,
        exitCode: 0,
        error: null,
        stoppedAt: r.stoppedAt!.toISOString(),
      })),
    );
  });

  it("writes a start's allocation and row together or not at all", async () => {
    const env = await setup();
    const { min } = env.config.portRange;
    const row = (id: string, port: number): StartingRow => ({
      id,
      node: env.config.nodeName,
      port,
      exportName: "e",
      jobId: "job-1",
      pidFile: null,
      filePath: "/nowhere.qcow2",
      readOnly: false,
      ownerKind: "backup",
      tls: false,
      hubOnly: false,
      vmName: "vm1",
      diskId: "disk0",
      startedAt: new Date(),
    });
    // A port another job holds: nothing written.
    await env.pool.allocatePort(min, { jobId: "other", vmName: "vm", exportName: "x" });
    expect(await insertStartingRow(env.db, row("exp_a", min), true)).toBe(false);
    expect(await env.db.nbdExport.count()).toBe(0);
    // A live row on the port (written without an allocation): the unique index refuses the
    // second, and its allocation is not written either.
    expect(await insertStartingRow(env.db, row("exp_b", min + 1), false)).toBe(true);
    const second = await insertStartingRow(env.db, row("exp_c", min + 1), true).catch((e: unknown) => e);
    expect(isUniqueViolation(second), String(second)).toBe(true);
    expect((await env.pool.list()).map((a) => [a.port, a.jobId])).toEqual([[min, "other"]]);
    expect((await env.db.nbdExport.findMany()).map((r) => [r.id, r.status])).toEqual([["exp_b", "starting"]]);
    await env.db.nbdExport.deleteMany();
    await env.db.portAllocation.deleteMany();
  });

  it("spawns no qemu-nbd for a start that was under way when shutdown began (issue 11, item 17)", async () => {
    const env = await setup();
    await makeQcow2(path.join(env.repo, "a.qcow2"));
    // The start awaits the database (image checks, allocation) while stopAll runs.
    const starting = env.exports.startOnFreePort({ ...job, exportName: "a", filePath: "a.qcow2" });
    await env.exports.stopAll();
    const outcome = await starting.then(
      () => "started",
      (error: { code?: string }) => error.code,
    );
    // Before the fix stopAll returned at once and the start spawned a qemu-nbd after it.
    expect(await qemuNbdUnder(env.config.dataDir), `the start ended as ${outcome}`).toEqual([]);
    expect(await env.exports.count()).toBe(0);
    expect(await env.db.portAllocation.count()).toBe(0);
  });

  it("refuses every caller a read-write export of a completed backup, or of its chain (issue 11, item 2)", async () => {
    const env = await setup();
    const { min } = env.config.portRange;
    const base = await makeQcow2(path.join(env.repo, "vm1", "base.qcow2"));
    const mid = path.join(env.repo, "vm1", "mid.qcow2");
    const top = path.join(env.repo, "vm1", "top.qcow2");
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", mid]);
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-b", mid, "-F", "qcow2", top]);
    const running = await makeQcow2(path.join(env.repo, "vm1", "running.qcow2"));
    const disk = { diskId: "d0", position: 0, source: "x" };
    // A completed backup (top) standing on mid, whose own row is gone, standing on base; and
    // the target of a job still copying.
    await env.db.backupJob.create({
      data: {
        ...{ id: "done-1", node: env.config.nodeName, vmName: "vm1", type: "incremental", status: "completed" },
        disks: { create: [{ ...disk, targetPath: top, backingPath: mid, status: "completed" }] },
      },
    });
    await env.db.backupJob.create({
      data: {
        ...{ id: "busy-1", node: env.config.nodeName, vmName: "vm1", type: "full", status: "running" },
        disks: { create: [{ ...disk, targetPath: running, status: "transferring" }] },
      },
    });
    await env.pool.reserve(1, { jobId: "restore-1", vmName: "vm1", exportNames: ["r"] });
    const req = { jobId: "restore-1", vmName: "vm1", diskId: "d0", exportName: "r" };
    for (const filePath of ["vm1/top.qcow2", mid, base]) {
      const immutable = { kind: "conflict", code: "backup_immutable", message: expect.stringContaining("done-1") };
      await expect(env.exports.start({ ...req, port: min + 1, filePath }), filePath).rejects.toMatchObject(immutable);
      await expect(env.exports.startOnFreePort({ ...req, filePath }), filePath).rejects.toMatchObject(immutable);
      const reserved = env.exports.startOnReservedPort({ ...req, port: min, filePath });
      await expect(reserved, filePath).rejects.toMatchObject(immutable);
    }
    const busy = { kind: "conflict", code: "file_in_use", message: expect.stringContaining("busy-1") };
    await expect(env.exports.startOnFreePort({ ...req, filePath: running })).rejects.toMatchObject(busy);
    expect(await env.db.nbdExport.count()).toBe(0);
    expect((await env.pool.list()).map((a) => [a.port, a.jobId])).toEqual([[min, "restore-1"]]);
    expect(await qemuNbdUnder(env.config.dataDir)).toEqual([]);

    // Read-only is allowed; the job that owns a target still being copied may write it.
    const ro = await env.exports.startOnReservedPort({ ...req, port: min, filePath: top, readOnly: true });
    expect((await nbdinfo(ro.uri)).exports[0].is_read_only).toBe(true);
    const own = await env.exports.startOnFreePort({ ...req, jobId: "busy-1", filePath: running });
    expect((await nbdinfo(own.uri)).exports[0].is_read_only).toBe(false);
    // A reserved port stays the job's after its export ends.
    await env.exports.stop(ro.port);
    expect(await env.pool.get(min)).toMatchObject({ jobId: "restore-1" });
  });

  it("takes the next port when qemu-nbd finds its port taken after all", async () => {
    // A probe that sees nothing: the foreign listener is found by qemu-nbd's own bind.
    const env = await setup(3, { probe: async () => false });
    const { min } = env.config.portRange;
    const foreign = net.createServer();
    await new Promise<void>((resolve) => foreign.listen(min, "127.0.0.1", resolve));
    try {
      await makeQcow2(path.join(env.repo, "a.qcow2"));
      const started = await env.exports.startOnFreePort({ ...job, exportName: "a", filePath: "a.qcow2" });
      expect(started.port).toBe(min + 1);
      await expect(
        env.exports.start({ ...job, port: min, exportName: "b", filePath: "a.qcow2" }),
      ).rejects.toMatchObject({ kind: "conflict", code: "port_in_use" });
      expect((await env.pool.list()).map((a) => a.port)).toEqual([min + 1]);
      expect(await env.db.nbdExport.count()).toBe(1);
    } finally {
      await new Promise((resolve) => foreign.close(resolve));
    }
  });
});

/**
 * What a crashed nbdhub leaves behind: a qemu-nbd it spawned (detached, so it outlived it)
 * and the rows it wrote. Spawned here directly so no manager of this process watches it.
 */
async function leftBehind(env: Env, port: number, name: string, { status = "ready", record = true } = {}) {
  const pidFile = pidFileFor(env.config.runDir, port, `exp_${name}`);
  const file = await makeQcow2(path.join(env.repo, `${name}.qcow2`));
  const args = qemuNbdArgs({
    exportName: name,
    bind: "127.0.0.1",
    port,
    shared: 10,
    pidFile,
    cache: "writeback",
    readOnly: false,
    file,
  });
  const child = execa("qemu-nbd", args, { detached: true, reject: false, stdio: "ignore" });
  await waitFor(async () => existsSync(pidFile) && (await readFile(pidFile, "utf8")).trim() === String(child.pid), {
    what: `${name} to be ready`,
  });
  if (record) {
    const stat = await readProcStat(child.pid!);
    const node = env.config.nodeName;
    await env.db.portAllocation.create({ data: { node, port, jobId: name, vmName: "vm1", exportName: name } });
    await env.db.nbdExport.create({
      data: {
        id: `exp_${name}`,
        node,
        port,
        exportName: name,
        filePath: file,
        jobId: name,
        vmName: "vm1",
        diskId: "disk0",
        pid: child.pid,
        pidStartTime: stat!.startTime,
        pidFile,
        status,
      },
    });
  }
  // Wrapped: an execa subprocess is a thenable, and an async function would wait for its exit.
  return { proc: child, pid: child.pid! };
}

describe("reconciliation after nbdhub went away without cleaning up", () => {
  it("adopts a live export, stops one it is told to, marks a dead one, and ends an unknown qemu-nbd", async () => {
    const env = await setup(6);
    const { min } = env.config.portRange;
    const keep = await leftBehind(env, min, "keep");
    const stop = await leftBehind(env, min + 1, "stop");
    const cutOff = await leftBehind(env, min + 2, "cutoff", { status: "starting" });
    const dead = await leftBehind(env, min + 3, "dead");
    dead.proc.kill("SIGKILL");
    await withDeadline(dead.proc, 5_000, "the killed qemu-nbd to exit");
    const orphan = await leftBehind(env, min + 4, "orphan", { record: false });

    const decided: string[] = [];
    const report = await reconcileExports({
      db: env.db,
      config: env.config,
      log,
      exports: env.exports,
      decide: async (e) => (decided.push(e.exportName), e.exportName === "stop" ? "stop" : "adopt"),
    });
    expect(decided.sort()).toEqual(["keep", "stop"]); // a cut-off start is stopped without asking
    expect(report).toMatchObject({
      adopted: [min],
      stopped: [min + 1, min + 2],
      markedDead: [min + 3],
      orphansKilled: [orphan.pid],
    });
    // qemu-nbd answers SIGTERM with a clean exit (code 0).
    expect(
      await withDeadline(orphan.proc, 15_000, "the reconciler to end the orphan qemu-nbd (no row knows it)"),
    ).toMatchObject({ exitCode: 0 });
    expect(
      await withDeadline(stop.proc, 15_000, "the reconciler to stop the export it was told to stop"),
    ).toMatchObject({ exitCode: 0 });
    expect(
      await withDeadline(cutOff.proc, 15_000, "the reconciler to stop the export whose start was cut off"),
    ).toMatchObject({ exitCode: 0 });
    expect(await env.exports.get(min + 1)).toMatchObject({ status: "stopped" });
    expect(await env.exports.get(min + 2)).toMatchObject({ status: "stopped" });
    expect(await env.exports.get(min + 3)).toMatchObject({
      status: "crashed",
      error: expect.stringMatching(/no longer running/),
    });
    expect((await env.pool.list()).map((a) => a.port)).toEqual([min]);
    expect((await qemuNbdUnder(env.config.runDir)).map((p) => p.pid)).toEqual([keep.pid]);
    expect(await env.exports.list()).toMatchObject([{ port: min, status: "ready", pid: keep.pid }]);

    // The adopted export still serves, and its death is noticed by the /proc watch.
    expect((await nbdinfo(`nbd://127.0.0.1:${min}/keep`)).exports[0]["export-name"]).toBe("keep");
    const exit = new Promise<ExportExit>((resolve) => env.exports.once("exit", resolve));
    keep.proc.kill("SIGKILL");
    expect(await exit).toMatchObject({ expected: false, export: { status: "crashed", port: min } });
    expect(await env.pool.isAllocated(min)).toBe(false);
  });

  it("does not take a reused pid for the recorded qemu-nbd", async () => {
    const env = await setup(2);
    const { min } = env.config.portRange;
    const { pid } = await leftBehind(env, min, "reused");
    // Same pid, other start time: the kernel gave the pid to a new process.
    await env.db.nbdExport.update({ where: { id: "exp_reused" }, data: { pidStartTime: 1n } });
    const report = await reconcileExports({ db: env.db, config: env.config, log, exports: env.exports });
    expect(report.markedDead).toEqual([min]);
    // The process itself is not what the row meant, but it is a qemu-nbd of ours: an orphan.
    expect(report.orphansKilled).toEqual([pid]);
    expect(await env.pool.isAllocated(min)).toBe(false);
  });
});
