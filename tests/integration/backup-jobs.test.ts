// Backup jobs end to end against the real server: real Postgres, qemu-nbd, nbdcopy, nbdinfo,
// qemu-img. Every ending is checked for what it leaves behind: no port held, no process, no
// incomplete target.
import { existsSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filesUnder, imagesIdentical, makeImage } from "../helpers/images";
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
  pid: number | null;
  transferredBytes: number;
  totalBytes: number;
  error: string | null;
  backingPath: string | null;
};
type Job = {
  id: string;
  status: string;
  error: string | null;
  requestedBy: string | null;
  cancelledBy: string | null;
  disks: Disk[];
  events?: { kind: string; message: string }[];
};

const fleet = new ServerFleet("backup");
let server: TestServer;

beforeAll(async () => {
  server = await fleet.start({}, { ports: 6 });
  const sources = path.join(server.dataDir, "sources");
  await makeImage(path.join(sources, "web-root.img"), { sizeMiB: 64, randomMiB: 16 });
  await makeImage(path.join(sources, "web-data.qcow2"), { sizeMiB: 48, randomMiB: 12, format: "qcow2" });
}, 120_000);

afterAll(() => fleet.end());

async function job(id: string): Promise<Job> {
  const r = await server.api<Job>("GET", `/backups/${id}`);
  expect(r.status).toBe(200);
  return r.body;
}

async function until(id: string, statuses: string[], timeoutMs = 60_000): Promise<Job> {
  return waitFor(
    async () => {
      const j = await job(id);
      return statuses.includes(j.status) ? j : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `job ${id} to be ${statuses.join("/")}` },
  );
}

/** Nothing left behind: no allocation, no running export, no process of this server. */
async function expectNothingLeft() {
  const ports = await server.api<{ allocated: number }>("GET", "/nbd/ports");
  expect(ports.body.allocated).toBe(0);
  const exports = await server.api<{ processes: { status: string }[] }>("GET", "/nbd/qemu-nbd");
  expect(exports.body.processes.filter((p) => ["starting", "ready", "stopping"].includes(p.status))).toEqual([]);
  expect(await processesOf(path.join(server.dataDir, "run"))).toEqual([]);
}

async function startJob(body: unknown): Promise<Job> {
  const r = await server.api<Job>("POST", "/backups", body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body;
}

describe("backup jobs", () => {
  it("a full backup of a raw and a qcow2 source completes, and the targets compare identical", async () => {
    const started = await startJob({
      vmName: "web01",
      type: "full",
      disks: [{ source: "web-root.img" }, { diskId: "data", source: "web-data.qcow2" }],
    });
    expect(started.disks.map((d) => d.diskId)).toEqual(["disk0", "data"]);
    const done = await until(started.id, ["completed", "failed", "cancelled"]);
    expect(done.status, done.error ?? "").toBe("completed");
    const [root, data] = done.disks;
    expect(root.targetPath).toBe(path.join(server.dataDir, "repository", "web01", "disk0", `${started.id}.qcow2`));
    expect(await imagesIdentical(path.join(server.dataDir, "sources", "web-root.img"), "raw", root.targetPath)).toBe(
      true,
    );
    expect(
      await imagesIdentical(path.join(server.dataDir, "sources", "web-data.qcow2"), "qcow2", data.targetPath),
    ).toBe(true);
    expect(done.disks.every((d) => d.status === "completed" && d.transferredBytes === d.totalBytes)).toBe(true);
    // Each disk records its average rate and size on disk.
    for (const d of done.disks as (Disk & { bytesPerSecond: number; actualSize: number })[]) {
      expect(d.bytesPerSecond).toBeGreaterThan(0);
      expect(d.actualSize).toBeGreaterThan(0);
    }
    const events = (await job(started.id)).events!.map((e) => e.kind);
    expect(events).toEqual(
      expect.arrayContaining(["job.created", "job.started", "disk.exported", "disk.completed", "job.completed"]),
    );
    await expectNothingLeft();

    // The history lists it, newest first, with who started it.
    const list = await server.api<{ items: Job[]; nextCursor: string | null }>("GET", "/backups?vmName=web01");
    expect(list.body.items[0]).toMatchObject({ id: started.id, status: "completed" });
    expect(list.body.items[0].requestedBy).toBeTruthy();

    // An incremental builds an overlay on it whose chain compares identical to the source.
    const inc = await startJob({
      vmName: "web01",
      type: "incremental",
      disks: [{ source: "web-root.img" }, { diskId: "data", source: "web-data.qcow2" }],
    });
    const incDone = await until(inc.id, ["completed", "failed", "cancelled"]);
    expect(incDone.status, incDone.error ?? "").toBe("completed");
    expect(incDone.disks[0].backingPath).toBe(root.targetPath);
    const info = JSON.parse(
      (await execa("qemu-img", ["info", "--output=json", "-U", incDone.disks[0].targetPath])).stdout,
    ) as { "backing-filename"?: string };
    expect(info["backing-filename"]).toBe(root.targetPath);
    expect(
      await imagesIdentical(path.join(server.dataDir, "sources", "web-root.img"), "raw", incDone.disks[0].targetPath),
    ).toBe(true);
    await expectNothingLeft();
  });

  it("POST /backup/start is the same as POST /backups", async () => {
    const r = await server.api<Job>("POST", "/backup/start", {
      vmName: "seed01",
      type: "full",
      disks: [{ source: "web-data.qcow2" }],
    });
    expect(r.status).toBe(202);
    expect((await until(r.body.id, ["completed", "failed"])).status).toBe("completed");
    await expectNothingLeft();
  });

  it("cancel during the copy ends `cancelled` within 5 s with nothing left behind; a second cancel is 409", async () => {
    const slow = await fleet.source(slowSource("512M", "8M"));
    const started = await startJob({ vmName: "slow01", type: "full", disks: [{ source: slow.uri }] });
    await waitFor(
      async () => {
        const j = await job(started.id);
        return j.disks[0].transferredBytes > 0 ? j : undefined;
      },
      { timeoutMs: 20_000, what: "the copy to make progress" },
    );
    const t0 = Date.now();
    const cancel = await server.api<Job>("POST", `/backups/${started.id}/cancel`);
    expect(cancel.status).toBe(202);
    const ended = await until(started.id, ["cancelled", "failed", "completed"], 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(ended.status).toBe("cancelled");
    expect(ended.cancelledBy).toBeTruthy();
    expect(existsSync(ended.disks[0].targetPath)).toBe(false);
    await expectNothingLeft();
    const again = await server.api<{ error: { code: string } }>("POST", `/backups/${started.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("job_finished");
  });

  for (const victim of ["nbdcopy", "qemu-nbd"] as const) {
    it(`kill -9 of the ${victim === "nbdcopy" ? "mover" : "export's qemu-nbd"} mid-copy fails the job with the reason and leaves nothing`, async () => {
      const slow = await fleet.source(slowSource("512M", "8M"));
      const started = await startJob({ vmName: `kill-${victim}`, type: "full", disks: [{ source: slow.uri }] });
      const running = await waitFor(
        async () => {
          const j = await job(started.id);
          return j.disks[0].transferredBytes > 0 ? j : undefined;
        },
        { timeoutMs: 20_000, what: "the copy to make progress" },
      );
      const procs = await processesOf(path.join(server.dataDir, "run"));
      const pid = victim === "qemu-nbd" ? running.disks[0].pid! : procs.find((p) => p.comm === "nbdcopy")!.pid;
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, "SIGKILL");
      const ended = await until(started.id, ["failed", "completed", "cancelled"], 15_000);
      expect(ended.status).toBe("failed");
      expect(ended.error).toMatch(
        victim === "qemu-nbd" ? /qemu-nbd .*crashed/ : /mover \(nbdcopy\) was killed by SIGKILL/,
      );
      expect(existsSync(ended.disks[0].targetPath)).toBe(false);
      await expectNothingLeft();
    });
  }

  it("bad requests get a clear 4xx and create nothing", async () => {
    const before = await server.api<{ items: Job[] }>("GET", "/backups?limit=200");
    const filesBefore = await filesUnder(path.join(server.dataDir, "repository"));
    const cases: [unknown, number, string, RegExp][] = [
      [{ vmName: "vm1", type: "full", disks: [] }, 422, "validation_failed", /disks/],
      [{ vmName: "vm 1", type: "full", disks: [{ source: "web-root.img" }] }, 422, "validation_failed", /vmName/],
      [{ vmName: "vm1", type: "full", disks: [{ source: "../../etc/passwd" }] }, 422, "path_not_allowed", /outside/],
      [{ vmName: "vm1", type: "full", disks: [{ source: "/etc/passwd" }] }, 422, "path_not_allowed", /outside/],
      [{ vmName: "vm1", type: "full", disks: [{ source: "missing.img" }] }, 422, "file_not_found", /does not exist/],
      [
        {
          vmName: "vm1",
          type: "full",
          disks: [
            { diskId: "a", source: "web-root.img" },
            { diskId: "a", source: "web-data.qcow2" },
          ],
        },
        422,
        "validation_failed",
        /duplicate/,
      ],
      [
        { vmName: "never-backed-up", type: "incremental", disks: [{ source: "web-root.img" }] },
        422,
        "no_previous_backup",
        /full backup first/,
      ],
      [
        { vmName: "vm1", type: "full", disks: [{ source: "nbd://192.0.2.1:10809/x" }] },
        422,
        "source_not_allowed",
        /NBDHUB_NBD_SOURCE_HOSTS/,
      ],
      [{ vmName: "vm1", type: "weekly", disks: [{ source: "web-root.img" }] }, 422, "validation_failed", /type/],
      ["{not json", 400, "invalid_json", /JSON/],
    ];
    for (const [body, status, code, message] of cases) {
      const r = await server.api<{ error: { code: string; message: string } }>("POST", "/backups", body);
      expect({ body, status: r.status, code: r.body.error?.code }).toEqual({ body, status, code });
      expect(r.body.error.message).toMatch(message);
    }
    const after = await server.api<{ items: Job[] }>("GET", "/backups?limit=200");
    expect(after.body.items.length).toBe(before.body.items.length);
    expect(await filesUnder(path.join(server.dataDir, "repository"))).toEqual(filesBefore);
    await expectNothingLeft();
  });
});
