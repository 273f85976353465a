// The harder endings: a job that must queue for ports, an external backup client, a client
// that goes silent, and a server killed with SIGKILL in the middle of a copy.
import { mkdtemp, chmod } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { imagesIdentical, makeImage } from "../helpers/images";
import { slowSource } from "../helpers/nbdkit";
import { processesOf } from "../helpers/processes";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor } from "../helpers/wait";

type Disk = {
  diskId: string;
  status: string;
  targetPath: string;
  port: number | null;
  nbdUri: string | null;
  transferredBytes: number;
  totalBytes: number;
};
type Job = { id: string; status: string; error: string | null; disks: Disk[] };

const fleet = new ServerFleet("endings");
afterAll(() => fleet.end());

const newServer = (env: Record<string, string> = {}, ports = 4) => fleet.start(env, { ports });

async function until(server: TestServer, id: string, statuses: string[], timeoutMs = 60_000): Promise<Job> {
  return waitFor(
    async () => {
      const r = await server.api<Job>("GET", `/backups/${id}`);
      return statuses.includes(r.body.status) ? r.body : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `job ${id} to be ${statuses.join("/")}` },
  );
}

async function expectNothingLeft(server: TestServer) {
  const ports = await server.api<{ allocated: number }>("GET", "/nbd/ports");
  expect(ports.body.allocated).toBe(0);
  expect(await processesOf(path.join(server.dataDir, "run"))).toEqual([]);
}

describe("backup job endings", () => {
  it(
    "a job with more disks than free ports queues, then completes once ports are released",
    { timeout: 120_000 },
    async () => {
      const server = await newServer({ NBDHUB_MAX_PARALLEL_DISKS: "4" }, 2);
      for (const n of [0, 1, 2])
        await makeImage(path.join(server.dataDir, "sources", `d${n}.img`), { sizeMiB: 16, randomMiB: 4 });
      // Someone else holds both ports of the pool.
      const held = await Promise.all(
        [1, 2].map(() =>
          server.api<{ port: number }>("POST", "/nbd/ports/allocate", {
            jobId: "other",
            vmName: "other",
            exportName: "other",
          }),
        ),
      );
      expect(held.map((h) => h.status)).toEqual([201, 201]);
      const r = await server.api<Job>("POST", "/backups", {
        vmName: "many",
        type: "full",
        disks: [0, 1, 2].map((n) => ({ source: `d${n}.img` })),
      });
      expect(r.status).toBe(202);
      expect(r.body.status).toBe("queued");
      // A later, smaller job does not overtake it (order of arrival).
      const later = await server.api<Job>("POST", "/backups", {
        vmName: "later",
        type: "full",
        disks: [{ source: "d0.img" }],
      });
      expect(later.body.status).toBe("queued");
      expect((await server.api<Job>("GET", `/backups/${r.body.id}`)).body.status).toBe("queued");

      const release = await server.api("POST", "/nbd/ports/release", { jobId: "other" });
      expect(release.status).toBe(200);
      const done = await until(server, r.body.id, ["completed", "failed"]).catch(async (error) => {
        const state = await server.api("GET", `/backups/${r.body.id}`);
        throw new Error(
          `${(error as Error).message}\n${JSON.stringify(state.body, null, 1)}\n${server.output().slice(-3000)}`,
        );
      });
      expect(done.status, done.error ?? "").toBe("completed");
      expect((await until(server, later.body.id, ["completed", "failed"])).status).toBe("completed");
      await expectNothingLeft(server);
    },
  );

  it("an external client writes into ready exports, reports progress and completes; the targets verify", async () => {
    const server = await newServer();
    const scratch = await mkdtemp(path.join(os.tmpdir(), "nbdhub-ext-"));
    const src = await makeImage(path.join(scratch, "agent-disk.img"), { sizeMiB: 32, randomMiB: 8 });
    const r = await server.api<Job>("POST", "/backups", {
      vmName: "agent01",
      type: "full",
      mover: "external",
      disks: [{ diskId: "sda", sizeBytes: 32 * 1024 * 1024 }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.status).toBe("running");
    const disk = r.body.disks[0];
    expect(disk.nbdUri).toMatch(/^nbd:\/\/127\.0\.0\.1:\d+\/agent01-sda$/);
    // Ready when the answer came: a real NBD client sees the export now.
    const info = JSON.parse((await execa("nbdinfo", ["--json", disk.nbdUri!])).stdout) as {
      exports: { "export-name": string; "export-size": number }[];
    };
    expect(info.exports[0]).toMatchObject({ "export-name": "agent01-sda", "export-size": 32 * 1024 * 1024 });

    await execa("nbdcopy", ["--flush", src, disk.nbdUri!]);
    const progress = await server.api<Disk>("POST", `/backups/${r.body.id}/disks/sda/progress`, {
      transferredBytes: 32 * 1024 * 1024,
    });
    expect(progress.status).toBe(200);
    expect(progress.body.transferredBytes).toBe(32 * 1024 * 1024);
    const complete = await server.api<Job>("POST", `/backups/${r.body.id}/complete`, {
      disks: [{ diskId: "sda", changeId: "cbt-1" }],
    });
    expect(complete.status, JSON.stringify(complete.body)).toBe(200);
    expect(complete.body.status).toBe("completed");
    expect(await imagesIdentical(src, "raw", complete.body.disks[0].targetPath)).toBe(true);
    await expectNothingLeft(server);

    // Reports for a job that ended are refused.
    const late = await server.api<{ error: { code: string } }>("POST", `/backups/${r.body.id}/disks/sda/progress`, {
      transferredBytes: 1,
    });
    expect(late.status).toBe(409);
  });

  it("an external job that reports nothing fails as stale and is cleaned up", async () => {
    const server = await newServer({ NBDHUB_STALE_AFTER_SECONDS: "5" });
    const r = await server.api<Job>("POST", "/backups", {
      vmName: "silent01",
      type: "full",
      mover: "external",
      disks: [{ sizeBytes: 1024 * 1024 }],
    });
    expect(r.status).toBe(202);
    const ended = await until(server, r.body.id, ["failed", "completed", "cancelled"], 20_000);
    expect(ended.status).toBe("failed");
    expect(ended.error).toMatch(/stale/);
    expect(existsSync(ended.disks[0].targetPath)).toBe(false);
    await expectNothingLeft(server);
  });

  it("an external client can fail its job", async () => {
    const server = await newServer();
    const r = await server.api<Job>("POST", "/backups", {
      vmName: "agent02",
      type: "full",
      mover: "external",
      disks: [{ sizeBytes: 1024 * 1024 }],
    });
    const failed = await server.api<Job>("POST", `/backups/${r.body.id}/fail`, {
      message: "snapshot could not be taken",
    });
    expect(failed.status).toBe(200);
    expect(failed.body.status).toBe("failed");
    expect(failed.body.error).toMatch(/snapshot could not be taken/);
    await expectNothingLeft(server);
  });

  it("SIGKILL of the server mid-job, then a start: the job is failed (interrupted by restart), no port held, no orphan process", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-crash-"));
    await chmod(dataDir, 0o755);
    const first = await newServer({ NBDHUB_DATA_DIR: dataDir });
    const slow = await fleet.source(slowSource("512M", "8M"));
    const r = await first.api<Job>("POST", "/backups", {
      vmName: "crash01",
      type: "full",
      disks: [{ source: slow.uri }],
    });
    await waitFor(
      async () => (await first.api<Job>("GET", `/backups/${r.body.id}`)).body.disks[0].transferredBytes > 0,
      { timeoutMs: 20_000, what: "progress" },
    );
    await first.kill();
    // The export and the mover outlive the crashed server…
    expect((await processesOf(path.join(dataDir, "run"))).length).toBeGreaterThan(0);

    const second = await fleet.startAgain(first);
    const after = await until(second, r.body.id, ["failed", "completed", "cancelled"], 15_000);
    expect(after.status).toBe("failed");
    expect(after.error).toBe("interrupted by restart");
    expect(existsSync(after.disks[0].targetPath)).toBe(false);
    // …and are gone after the restart.
    await waitFor(async () => (await processesOf(path.join(dataDir, "run"))).length === 0, {
      timeoutMs: 10_000,
      what: "no process left",
    });
    await expectNothingLeft(second);
  });
});
