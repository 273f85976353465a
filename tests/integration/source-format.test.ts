// Issue 11, item 1: a source's format comes from the request or its name, never from probing
// its contents. A raw disk whose guest wrote a qcow2 header (with an external data file or a
// backing file naming a host file) is backed up as the raw bytes it holds; a `.qcow2` source
// that would pull in another file is refused before anything is created.
import { promises as fs } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSecret, qcow2WithBackingFile, qcow2WithDataFile, sameContents } from "../helpers/hostile-images";
import { filesUnder, makeImage } from "../helpers/images";
import { processesOf } from "../helpers/processes";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor } from "../helpers/wait";

type Disk = { diskId: string; status: string; targetPath: string; error: string | null; totalBytes: number };
type Job = { id: string; status: string; error: string | null; disks: Disk[] };
type ErrorBody = { error: { code: string; message: string; details?: Record<string, string> } };
type SourceItem = { path: string; name: string; format: string; virtualSize: number; problem?: string | null };

const fleet = new ServerFleet("srcfmt");
let server: TestServer;
let sources: string;
let secretFile: string;

beforeAll(async () => {
  server = await fleet.start({}, { ports: 4 });
  sources = path.join(server.dataDir, "sources");
  // The secret lives outside the sources root, where no caller may name it.
  secretFile = path.join(server.dataDir, "secrets-of-the-host", "other-vm.raw");
  const secret = await makeSecret(secretFile);
  // Raw disks (by name) whose guest wrote a real qcow2 image into them.
  await qcow2WithDataFile(path.join(sources, "guest-datafile.img"), secretFile, secret);
  await qcow2WithBackingFile(path.join(sources, "guest-backing.img"), secretFile, secret.length);
  // qcow2 sources (by name) that would read another file.
  await qcow2WithDataFile(path.join(sources, "with-datafile.qcow2"), secretFile, secret);
  await qcow2WithBackingFile(path.join(sources, "with-backing.qcow2"), secretFile, secret.length);
  await makeImage(path.join(sources, "plain.img"), { sizeMiB: 4, randomMiB: 1 });
  await makeImage(path.join(sources, "plain.qcow2"), { sizeMiB: 4, randomMiB: 1, format: "qcow2" });
}, 120_000);

afterAll(() => fleet.end());

async function until(id: string): Promise<Job> {
  return waitFor(
    async () => {
      const j = (await server.api<Job>("GET", `/backups/${id}`)).body;
      return ["completed", "failed", "cancelled"].includes(j.status) ? j : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `job ${id} to end` },
  );
}

function post(body: unknown) {
  return server.api<ErrorBody>("POST", "/backups", body);
}

async function nothingCreated(jobsBefore: number, filesBefore: string[]): Promise<void> {
  const jobs = await server.api<{ items: Job[] }>("GET", "/backups?limit=200");
  expect(jobs.body.items.length, "a refused request must create no job").toBe(jobsBefore);
  expect(await filesUnder(path.join(server.dataDir, "repository"))).toEqual(filesBefore);
  expect((await server.api<{ allocated: number }>("GET", "/nbd/ports")).body.allocated).toBe(0);
  expect(await processesOf(path.join(server.dataDir, "run"))).toEqual([]);
}

describe("source formats", () => {
  for (const name of ["guest-datafile.img", "guest-backing.img"]) {
    it(`${name} (a raw disk holding a qcow2 header that names a host file) is backed up as its raw bytes`, async () => {
      const vmName = `vm-${name.replace(/\W/g, "")}`;
      const r = await server.api<Job>("POST", "/backups", { vmName, type: "full", disks: [{ source: name }] });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const done = await until(r.body.id);
      expect(done.status, done.error ?? "").toBe("completed");
      const target = done.disks[0].targetPath;
      const secretInside = await sameContents(secretFile, "raw", target);
      expect(secretInside, "the backup must not hold the host's secret file").toBe(false);
      const rawBytes = await sameContents(path.join(sources, name), "raw", target);
      expect(rawBytes, "the backup must hold the file's raw bytes").toBe(true);
      const onDisk = (await fs.stat(path.join(sources, name))).size;
      expect(done.disks[0].totalBytes, "the disk's size is the file's size").toBe(onDisk);
    });
  }

  for (const [name, why] of [
    ["with-datafile.qcow2", /external data file/],
    ["with-backing.qcow2", /backing file/],
  ] as const) {
    it(`${name} is refused with 422 source_not_allowed saying why, and nothing is created`, async () => {
      const jobsBefore = (await server.api<{ items: Job[] }>("GET", "/backups?limit=200")).body.items.length;
      const filesBefore = await filesUnder(path.join(server.dataDir, "repository"));
      const r = await post({ vmName: "refused", type: "full", disks: [{ source: name }] });
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      expect(r.body.error.code).toBe("source_not_allowed");
      expect(r.body.error.message).toMatch(why);
      expect(r.body.error.details?.["disks.0.source"]).toBeTruthy();
      // The answer names no host path (it would tell the caller what exists on the host).
      expect(JSON.stringify(r.body)).not.toContain(secretFile);
      await nothingCreated(jobsBefore, filesBefore);
    });
  }

  it("a disk's `format` overrides the name: qcow2 asked of a raw file with a data file is refused", async () => {
    const jobsBefore = (await server.api<{ items: Job[] }>("GET", "/backups?limit=200")).body.items.length;
    const filesBefore = await filesUnder(path.join(server.dataDir, "repository"));
    const askedQcow2 = [{ source: "guest-datafile.img", format: "qcow2" }];
    const asked = await post({ vmName: "asked", type: "full", disks: askedQcow2 });
    expect(asked.status, JSON.stringify(asked.body)).toBe(422);
    expect(asked.body.error.code).toBe("source_not_allowed");
    const notQcow = await post({ vmName: "asked", type: "full", disks: [{ source: "plain.img", format: "qcow2" }] });
    expect(notQcow.status, JSON.stringify(notQcow.body)).toBe(422);
    expect(notQcow.body.error.code).toBe("source_unreadable");
    expect(notQcow.body.error.message).toMatch(/not a qcow2 image/);
    const badFormat = await post({ vmName: "asked", type: "full", disks: [{ source: "plain.img", format: "vmdk" }] });
    expect(badFormat.status).toBe(422);
    expect(badFormat.body.error.code).toBe("validation_failed");
    await nothingCreated(jobsBefore, filesBefore);
  });

  it("a plain qcow2 source and a raw source asked as raw still back up and verify", async () => {
    const disks = [{ source: "plain.qcow2" }, { source: "plain.img", format: "raw" }];
    const r = await server.api<Job>("POST", "/backups", { vmName: "plain", type: "full", disks });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const done = await until(r.body.id);
    expect(done.status, done.error ?? "").toBe("completed");
    expect(await sameContents(path.join(sources, "plain.qcow2"), "qcow2", done.disks[0].targetPath)).toBe(true);
    expect(await sameContents(path.join(sources, "plain.img"), "raw", done.disks[1].targetPath)).toBe(true);
  });

  it("GET /sources shows the format the name gives, and says which qcow2 sources cannot be backed up", async () => {
    const r = await server.api<{ items: SourceItem[]; truncated: boolean }>("GET", "/sources");
    expect(r.status).toBe(200);
    const byName = new Map(r.body.items.map((i) => [i.name, i]));
    for (const name of ["guest-datafile.img", "guest-backing.img", "plain.img"]) {
      const item = byName.get(name);
      expect(item, name).toBeDefined();
      expect(item!.format, name).toBe("raw");
      expect(item!.virtualSize, name).toBe((await fs.stat(path.join(sources, name))).size);
      expect(item!.problem ?? null, name).toBeNull();
    }
    expect(byName.get("plain.qcow2")).toMatchObject({ format: "qcow2", virtualSize: 4 * 1024 * 1024, problem: null });
    expect(byName.get("with-datafile.qcow2")?.problem).toMatch(/external data file/);
    expect(byName.get("with-backing.qcow2")?.problem).toMatch(/backing file/);
    expect(r.body.truncated).toBe(false);
  });
});
