// Restore by copy (issue 14): a point copied to a new raw file, a new qcow2 file and a writable
// NBD export compares identical to the point; a cancel mid-copy (a slow destination) leaves no
// partial file; bad input is refused with a clear 4xx and changes nothing.
import { execFile, spawn } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/ports";
import { processesOf } from "../helpers/processes";
import { buildChain, restoreWhen, type ChainPoint, type Restore } from "../helpers/restore-chain";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { slowMoverDir } from "../helpers/slow-mover";
import { stopChild } from "../helpers/stop-child";
import { waitFor } from "../helpers/wait";

const run = promisify(execFile);
const fleet = new ServerFleet("restcopy");
let server: TestServer;
let points: ChainPoint[];
let work: string;
let sources: string;

beforeAll(async () => {
  // nbdcopy writes file destinations slowly on this server (the cancel test needs time to act).
  const bin = await slowMoverDir("4M");
  server = await fleet.start({ PATH: `${bin}:${process.env.PATH}` }, { ports: 4 });
  work = await fs.mkdtemp(path.join(os.tmpdir(), "nbdhub-restore-copy-"));
  sources = path.join(server.dataDir, "sources");
  points = await buildChain(server, "cvm", path.join(work, "snapshots"), 2);
  await fs.mkdir(path.join(sources, "restored"), { recursive: true });
}, 300_000);

afterAll(async () => {
  await fleet.end();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

const newest = () => points[points.length - 1];

async function copy(destination: unknown, jobId = newest().jobId): Promise<Restore> {
  const r = await server.api<Restore>("POST", "/restores", { jobId, mode: "copy", destination });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return restoreWhen(server, r.body.id, (x) => !["running", "queued"].includes(x.status), "to end", 120_000);
}

async function sameAsSnapshot(file: string, format: "raw" | "qcow2"): Promise<boolean> {
  const r = await run("qemu-img", ["compare", "-q", "-f", "raw", "-F", format, newest().snapshot, file]).then(
    () => 0,
    (e: { code?: number }) => e.code ?? 2,
  );
  return r === 0;
}

async function expectNothingHeld() {
  const ports = await server.api<{ allocations: unknown[] }>("GET", "/nbd/ports");
  expect(ports.body.allocations, "ports still held").toEqual([]);
  expect(await processesOf(path.join(server.dataDir, "run")), "processes left").toEqual([]);
}

describe("restore by copy", () => {
  it("to a new raw file and a new qcow2 file: both compare identical to the point", { timeout: 180_000 }, async () => {
    for (const format of ["raw", "qcow2"] as const) {
      const dest = `restored/cvm-sda.${format}`;
      const restore = await copy({ path: dest, format });
      expect(restore.status, restore.error ?? "").toBe("completed");
      expect(restore.disks[0]).toMatchObject({ status: "completed", transferredBytes: 16 * 1024 * 1024 });
      const file = path.join(sources, dest);
      expect(await sameAsSnapshot(file, format), `the ${format} copy must equal the point`).toBe(true);
      const info = JSON.parse((await run("qemu-img", ["info", "--output=json", file])).stdout);
      expect(info.format).toBe(format);
    }
    await expectNothingHeld();
  });

  it("to a writable NBD export (qemu-nbd on a scratch file): compares identical", { timeout: 120_000 }, async () => {
    const scratch = path.join(work, "scratch.raw");
    await fs.writeFile(scratch, "");
    await fs.truncate(scratch, 16 * 1024 * 1024);
    const port = await freePort();
    const pidFile = path.join(work, "scratch.pid");
    const args = ["--format=raw", "--persistent", "--bind=127.0.0.1", `--port=${port}`, "--export-name=scratch"];
    const qemu = spawn("qemu-nbd", [...args, `--pid-file=${pidFile}`, scratch], { stdio: "ignore" });
    try {
      await waitFor(() => existsSync(pidFile), { timeoutMs: 10_000, what: "the scratch qemu-nbd to serve" });
      const restore = await copy({ nbd: `nbd://127.0.0.1:${port}/scratch` });
      expect(restore.status, restore.error ?? "").toBe("completed");
    } finally {
      await stopChild(qemu, "the scratch qemu-nbd");
    }
    expect(await sameAsSnapshot(scratch, "raw")).toBe(true);
    await expectNothingHeld();
  });

  it("a cancel mid-copy stops it and leaves no partial file", { timeout: 120_000 }, async () => {
    const dest = "restored/cancelled.raw";
    const r = await server.api<Restore>("POST", "/restores", {
      jobId: newest().jobId,
      mode: "copy",
      destination: { path: dest },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const file = path.join(sources, dest);
    await restoreWhen(server, r.body.id, (x) => x.disks[0].status === "transferring", "to copy");
    expect(existsSync(file), "the output exists while it is written").toBe(true);
    const cancelled = await server.api<Restore>("POST", `/restores/${r.body.id}/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(202);
    expect(cancelled.body.status).toBe("cancelled");
    expect(cancelled.body.disks[0].status).toBe("cancelled");
    expect(existsSync(file), "the partial output must be removed").toBe(false);
    await expectNothingHeld();
  });
});

describe("refusals change nothing", () => {
  it(
    "answers a clear 4xx for each bad request, and holds no port, row or file after",
    { timeout: 60_000 },
    async () => {
      const existing = path.join(sources, "restored", "exists.raw");
      await fs.writeFile(existing, "keep me");
      const before = (await server.api<{ items: Restore[] }>("GET", "/restores")).body.items.length;
      const viewer = await server.api<{ token: string }>("POST", "/tokens", { name: "restore-viewer", role: "viewer" });
      expect(viewer.status, JSON.stringify(viewer.body)).toBe(201);
      // A backup that has not completed: an external job, waiting for its client.
      const running = await server.api<{ id: string }>("POST", "/backups", {
        vmName: "cvm-ext",
        type: "full",
        mover: "external",
        disks: [{ diskId: "sda", sizeBytes: 1024 * 1024 }],
      });
      expect(running.status, JSON.stringify(running.body)).toBe(202);
      const pool = (await server.api<{ range: { min: number } }>("GET", "/nbd/ports")).body.range;
      const ownExport = `nbd://127.0.0.1:${pool.min}/x`;
      const bad: [string, unknown, number, string][] = [
        ["an unknown job", { jobId: "no-such-job", mode: "export" }, 404, "not_found"],
        ["an unknown disk", { jobId: newest().jobId, disks: ["sdz"], mode: "export" }, 422, "unknown_disk"],
        [
          "a destination outside the sources root",
          { jobId: newest().jobId, mode: "copy", destination: { path: "/etc/restored.raw" } },
          422,
          "path_not_allowed",
        ],
        [
          "a destination climbing out",
          { jobId: newest().jobId, mode: "copy", destination: { path: "../repository/x.raw" } },
          422,
          "path_not_allowed",
        ],
        [
          "an existing destination",
          { jobId: newest().jobId, mode: "copy", destination: { path: "restored/exists.raw" } },
          409,
          "destination_exists",
        ],
        [
          "an NBD destination on a host not allowed",
          { jobId: newest().jobId, mode: "copy", destination: { nbd: "nbd://192.0.2.1:10809/x" } },
          422,
          "destination_not_allowed",
        ],
        [
          "an NBD destination naming a file",
          {
            jobId: newest().jobId,
            mode: "copy",
            destination: { nbd: "nbd://127.0.0.1:10809/x?tls-psk-file=/etc/passwd" },
          },
          422,
          "destination_not_allowed",
        ],
        [
          "an NBD destination that is one of the hub's exports",
          { jobId: newest().jobId, mode: "copy", destination: { nbd: ownExport } },
          422,
          "destination_not_allowed",
        ],
        ["copy without a destination", { jobId: newest().jobId, mode: "copy" }, 422, "validation_failed"],
        [
          "export with a destination",
          { jobId: newest().jobId, mode: "export", destination: { path: "restored/y.raw" } },
          422,
          "validation_failed",
        ],
        ["a job that did not complete", { jobId: running.body.id, mode: "export" }, 409, "job_not_completed"],
      ];
      for (const [what, body, status, code] of bad) {
        const r = await server.api<{ error: { code: string; message: string } }>("POST", "/restores", body);
        expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(status);
        expect(r.body.error.code, what).toBe(code);
        expect(r.body.error.message.length, what).toBeGreaterThan(10);
      }
      const asViewer = await server.api<{ error: { code: string } }>(
        "POST",
        "/restores",
        { jobId: newest().jobId, mode: "export" },
        {
          headers: { authorization: `Bearer ${viewer.body.token}` },
        },
      );
      expect(asViewer.status).toBe(403);
      expect((await server.api<{ items: Restore[] }>("GET", "/restores")).body.items).toHaveLength(before);
      expect(await fs.readFile(existing, "utf8")).toBe("keep me");
      expect((await server.api("POST", `/backups/${running.body.id}/cancel`)).status).toBe(202);
      await server.waitForJobEnd(running.body.id, 30_000);
      expect((await fs.readdir(path.join(sources, "restored"))).sort()).not.toContain("y.raw");
      await expectNothingHeld();
    },
  );
});
