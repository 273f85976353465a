// Backups keep their integrity (issue 11, items 2 and 3), against the real server: a completed
// backup, and a file one stands on, can only be exported read-only; every completed disk says
// what its verification proved; an external client cannot complete what it did not write.
import { createHash } from "node:crypto";
import { readFile, symlink } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images";
import { startNbdkit } from "../helpers/nbdkit";
import { freePortRange } from "../helpers/ports";
import { expectNothingHeld } from "../helpers/held";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor } from "../helpers/wait";
import { nbdinfo } from "./nbd-helpers";

type Disk = {
  diskId: string;
  status: string;
  targetPath: string;
  backingPath: string | null;
  nbdUri: string | null;
  transferredBytes: number;
  verified: boolean;
  verification: string | null;
};
type Job = {
  id: string;
  status: string;
  error: string | null;
  verified: boolean;
  verification: string | null;
  disks: Disk[];
  events?: { kind: string }[];
};
type Failure = { error: { code: string; message: string; details?: Record<string, unknown> } };

const fleet = new ServerFleet("integrity");
let server: TestServer;
let range: { min: number; max: number };
const MiB = 1024 * 1024;
/** Tests that run several backups one after the other. */
const SLOW = { timeout: 240_000 };

beforeAll(async () => {
  range = await freePortRange(4);
  server = await fleet.start({ NBDHUB_PORT_RANGE: `${range.min}-${range.max}` });
  await makeImage(path.join(server.dataDir, "sources", "disk.img"), { sizeMiB: 16, randomMiB: 4 });
}, 120_000);

afterAll(() => fleet.end());

async function ended(id: string): Promise<Job> {
  return waitFor(
    async () => {
      const r = await server.api<Job>("GET", `/backups/${id}`);
      return ["completed", "failed", "cancelled"].includes(r.body.status) ? r.body : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `job ${id} to end` },
  );
}

async function backup(body: Record<string, unknown>): Promise<Job> {
  const r = await server.api<Job>("POST", "/backups", body);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const job = await ended(r.body.id);
  expect(job.status, job.error ?? "").toBe("completed");
  return job;
}

const sha = async (file: string) =>
  createHash("sha256")
    .update(await readFile(file))
    .digest("hex");

describe("completed backups are immutable (item 2)", () => {
  it("a completed backup, or a base one stands on, is exported read-only only (else 409)", SLOW, async () => {
    const full = await backup({ vmName: "keep01", type: "full", disks: [{ diskId: "d0", source: "disk.img" }] });
    const inc = await backup({ vmName: "keep01", type: "incremental", disks: [{ diskId: "d0", source: "disk.img" }] });
    const base = full.disks[0].targetPath;
    const top = inc.disks[0].targetPath;
    expect(inc.disks[0].backingPath).toBe(base);
    const before = { base: await sha(base), top: await sha(top) };
    const repository = path.join(server.dataDir, "repository");
    await symlink(top, path.join(repository, "alias.qcow2"));

    const restoreOf = { vmName: "keep01", diskId: "d0" };
    const asks: [string, string, string][] = [
      ["the base, by its full path", base, full.id],
      ["the incremental, by its path inside the repository", path.relative(repository, top), inc.id],
      ["the incremental, through a link", "alias.qcow2", inc.id],
    ];
    for (const [what, filePath, jobId] of asks) {
      const body = { port: range.min, exportName: "restore", filePath, jobId: "restore-1", ...restoreOf };
      const r = await server.api<Failure>("POST", "/nbd/qemu-nbd/start", body);
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(409);
      expect(r.body.error.code).toBe("backup_immutable");
      expect(r.body.error.message, what).toContain(jobId);
      expect(r.body.error.message).toMatch(/read-only/);
      // Refused: no port held, no export row, no process.
      await expectNothingHeld(server);
    }

    // Read-only is what a restore needs, and it works.
    const ro = await server.api<{ port: number; uri: string; readOnly: boolean }>("POST", "/nbd/qemu-nbd/start", {
      port: range.min,
      exportName: "restore",
      filePath: top,
      jobId: "restore-1",
      vmName: "keep01",
      diskId: "d0",
      readOnly: true,
    });
    expect(ro.status, JSON.stringify(ro.body)).toBe(201);
    expect(ro.body.readOnly).toBe(true);
    expect((await nbdinfo(ro.body.uri)).exports[0].is_read_only).toBe(true);
    expect((await server.api("POST", "/nbd/qemu-nbd/stop", { port: ro.body.port })).status).toBe(200);
    const free = async () => (await server.api<{ allocated: number }>("GET", "/nbd/ports")).body.allocated === 0;
    await waitFor(free, { what: "the port to be released" });

    expect({ base: await sha(base), top: await sha(top) }, "the backups must not change").toEqual(before);
    await expectNothingHeld(server);
  });
});

describe("verification says what it proved (item 3)", () => {
  it("a file source is compared (verified); an NBD source only checked; the job says so", async () => {
    const nbd = await fleet.source(startNbdkit(["pattern", "size=8M"]));
    const disks = [
      { diskId: "file", source: "disk.img" },
      { diskId: "net", source: nbd.uri },
    ];
    const job = await backup({ vmName: "mixed01", type: "full", disks });
    const [file, net] = job.disks;
    expect(file.verified).toBe(true);
    expect(file.verification).toMatch(/qemu-img compare found the target identical to the source disk\.img/);
    expect(net.verified).toBe(false);
    expect(net.verification).toMatch(/not compared with the NBD source/);
    expect(job.verified).toBe(false);
    expect(job.verification).toMatch(/1 of 2 disks were compared/);

    const all = await backup({ vmName: "file01", type: "full", disks: [{ diskId: "d0", source: "disk.img" }] });
    expect(all.verified).toBe(true);
    expect(all.verification).toMatch(/every disk \(1\) was compared/);
    await expectNothingHeld(server);
  });

  it("an external complete is refused (409, job still running) until reports cover each disk", async () => {
    const r = await server.api<Job>("POST", "/backups", {
      vmName: "agent09",
      type: "full",
      mover: "external",
      disks: [
        { diskId: "sda", sizeBytes: 4 * MiB },
        { diskId: "sdb", sizeBytes: 2 * MiB },
      ],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.status).toBe("running");
    const id = r.body.id;
    const both = { disks: [{ diskId: "sda" }, { diskId: "sdb" }] };
    const complete = () => server.api<Job & Failure>("POST", `/backups/${id}/complete`, both);
    const report = (diskId: string, body: object) =>
      server.api<Failure>("POST", `/backups/${id}/disks/${diskId}/progress`, body);

    // Nothing written, nothing reported: an empty target must not become a backup.
    const empty = await complete();
    expect(empty.status, JSON.stringify(empty.body)).toBe(409);
    expect(empty.body.error.code).toBe("incomplete_transfer");
    expect(Object.keys(empty.body.error.details?.disks as object).sort()).toEqual(["sda", "sdb"]);

    // A report cannot shrink the disk to make a short transfer look complete.
    const shrink = await report("sdb", { transferredBytes: MiB, totalBytes: MiB });
    expect(shrink.status).toBe(422);

    expect((await report("sda", { transferredBytes: 4 * MiB })).status).toBe(200);
    expect((await report("sdb", { transferredBytes: MiB })).status).toBe(200);
    const partial = await complete();
    expect(partial.status).toBe(409);
    expect(partial.body.error.code).toBe("incomplete_transfer");
    expect(Object.keys(partial.body.error.details?.disks as object)).toEqual(["sdb"]);

    // Refused, so nothing changed: still running, both exports still serve.
    const still = await server.api<Job>("GET", `/backups/${id}`);
    expect(still.body.status).toBe("running");
    for (const disk of still.body.disks) {
      expect(disk.status).toBe("transferring");
      await execa("nbdinfo", ["--size", disk.nbdUri!]);
    }
    expect(still.body.events?.map((e) => e.kind)).not.toContain("job.completed");

    expect((await report("sdb", { transferredBytes: 2 * MiB, totalBytes: 2 * MiB })).status).toBe(200);
    const done = await complete();
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.status).toBe("completed");
    expect(done.body.verified).toBe(false);
    for (const disk of done.body.disks) {
      expect(disk.verified).toBe(false);
      expect(disk.verification).toMatch(/qemu-img check passed; the backup client reported all \d+ bytes written/);
    }
    await expectNothingHeld(server);
  });
});
