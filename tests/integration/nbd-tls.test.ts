// NBD over TLS (NBDHUB_NBD_TLS=required, the default when exports listen beyond loopback): an
// external job's export takes its own pre-shared key and nothing else, the key is handed out in
// the 202 answer only and found nowhere else (log, command lines, environments, events, audit,
// later answers), its folder goes when the job ends, and built-in jobs still complete (their
// exports stay on loopback without TLS: docs/decisions/019-nbd-tls.md). Real qemu-nbd, nbdinfo,
// nbdcopy; the server binds 0.0.0.0 and the test connects on 127.0.0.1.
import { existsSync, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackupDisk, BackupJob } from "@/lib/api/schemas/backups";
import type { ExportTlsKey } from "@/lib/nbd/types";
import { imagesIdentical, makeImage } from "../helpers/images";
import { processesOf } from "../helpers/processes";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor } from "../helpers/wait";

type Tls = ExportTlsKey;
type Disk = BackupDisk;
type Job = BackupJob;

const MiB = 1024 * 1024;
const fleet = new ServerFleet("nbdtls");
let server: TestServer;
let scratch: string;

beforeAll(async () => {
  server = await fleet.start({ NBDHUB_NBD_BIND: "0.0.0.0" }, { ports: 4 });
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), "nbdhub-tls-"));
}, 120_000);
afterAll(async () => {
  await fleet.end();
  await fs.rm(scratch, { recursive: true, force: true });
});

const runDir = () => path.join(server.dataDir, "run");
/** The key folder (tls-<export id>) whose keys.psk holds this username's key; fails when there is none. */
async function keyDirOf(tls: Tls): Promise<string> {
  for (const name of await fs.readdir(runDir())) {
    if (!name.startsWith("tls-")) continue;
    const text = await fs.readFile(path.join(runDir(), name, "keys.psk"), "utf8").catch(() => "");
    if (text.startsWith(`${tls.username}:`)) return path.join(runDir(), name);
  }
  throw new Error(`no key folder in ${runDir()} holds the key of ${tls.username}`);
}

async function startExternal(vmName: string, sizeBytes = 8 * MiB): Promise<{ job: Job; disk: Disk; tls: Tls }> {
  const r = await server.api<Job>("POST", "/backups", {
    vmName,
    type: "full",
    mover: "external",
    disks: [{ diskId: "sda", sizeBytes }],
  });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  expect(r.body.status).toBe("running");
  const disk = r.body.disks[0];
  expect(disk.tls, "the 202 answer of an external job carries the disk's key").toBeDefined();
  return { job: r.body, disk, tls: disk.tls! };
}

/** An external job on every port of the pool (4), then a second one, answered `queued`. */
async function holdPoolThenQueue(holder: string, waiter: string) {
  const external = (vmName: string, diskIds: string[]) =>
    server.api<Job>("POST", "/backups", {
      vmName,
      type: "full",
      mover: "external",
      disks: diskIds.map((diskId) => ({ diskId, sizeBytes: 8 * MiB })),
    });
  const hold = await external(holder, ["a", "b", "c", "d"]);
  expect(hold.body.status, "the first job holds every port of the pool").toBe("running");
  const queued = await external(waiter, ["sda"]);
  expect(queued.status, JSON.stringify(queued.body)).toBe(202);
  expect(queued.body.status).toBe("queued");
  return { hold, queued };
}

/** A 0600 file with `username:hexkey`, as nbdinfo and nbdcopy read it (tls-psk-file=). */
async function pskFile(name: string, tls: Tls): Promise<string> {
  const file = path.join(scratch, name);
  await fs.writeFile(file, `${tls.username}:${tls.psk}\n`, { mode: 0o600 });
  return file;
}

function tlsUri(disk: Disk, tls: Tls, file: string): string {
  const { port, pathname } = new URL(disk.nbdUri!);
  return `nbds://${tls.username}@127.0.0.1:${port}${pathname}?tls-psk-file=${file}`;
}

function plainUri(disk: Disk): string {
  const { port, pathname } = new URL(disk.nbdUri!);
  return `nbd://127.0.0.1:${port}${pathname}`;
}

async function until(id: string, statuses: string[]): Promise<Job> {
  return waitFor(
    async () => {
      const r = await server.api<Job>("GET", `/backups/${id}`);
      return statuses.includes(r.body.status) ? r.body : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `job ${id} to be ${statuses.join("/")}` },
  );
}

/** Every process's command line and (where readable) environment, as `ps e` would show them. */
async function everyProcessText(): Promise<string> {
  const pids = (await fs.readdir("/proc")).filter((e) => /^\d+$/.test(e));
  const parts = await Promise.all(
    pids.flatMap((pid) => [
      fs.readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0)),
      fs.readFile(`/proc/${pid}/environ`).catch(() => Buffer.alloc(0)),
    ]),
  );
  return parts.map((p) => p.toString("latin1")).join("\n");
}

describe("NBD over TLS (NBDHUB_NBD_TLS=required)", () => {
  it(
    "an external job's export refuses plain and wrong-key clients, takes its own key, and completes over TLS; " +
      "the key is nowhere else and its folder goes with the job",
    { timeout: 120_000 },
    async () => {
      const src = await makeImage(path.join(scratch, "agent-disk.img"), { sizeMiB: 8, randomMiB: 4 });
      const { job, disk, tls } = await startExternal("tls01");
      expect(disk.nbdUri).toMatch(/^nbds:\/\/127\.0\.0\.1:\d+\/tls01-sda$/);
      expect(tls.psk).toMatch(/^[0-9a-f]{64}$/);

      // The key is where qemu-nbd reads it, private to the hub's user.
      const dir = await keyDirOf(tls);
      expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
      expect((await fs.stat(path.join(dir, "keys.psk"))).mode & 0o777).toBe(0o600);

      // qemu-nbd itself refuses a client that does not start TLS, and one with another key.
      const plain = await execa("nbdinfo", [plainUri(disk)], { reject: false });
      expect(plain.exitCode, "a plain NBD client must be refused").not.toBe(0);
      const wrongKey = { ...tls, psk: "00".repeat(32) };
      const wrong = await execa("nbdinfo", [tlsUri(disk, wrongKey, await pskFile("wrong.psk", wrongKey))], {
        reject: false,
      });
      expect(wrong.exitCode, "a client with a wrong key must be refused").not.toBe(0);

      const keyFile = await pskFile("right.psk", tls);
      const info = JSON.parse((await execa("nbdinfo", ["--json", tlsUri(disk, tls, keyFile)])).stdout) as {
        exports: { "export-name": string; "export-size": number }[];
      };
      expect(info.exports[0]).toMatchObject({ "export-name": "tls01-sda", "export-size": 8 * MiB });

      // While the export runs: its key is on no command line and in no environment.
      expect((await everyProcessText()).includes(tls.psk), "the key is on a command line or in an environment").toBe(
        false,
      );

      await execa("nbdcopy", ["--flush", src, tlsUri(disk, tls, keyFile)]);
      const progress = await server.api("POST", `/backups/${job.id}/disks/sda/progress`, { transferredBytes: 8 * MiB });
      expect(progress.status).toBe(200);
      const complete = await server.api<Job>("POST", `/backups/${job.id}/complete`, { disks: [{ diskId: "sda" }] });
      expect(complete.status, JSON.stringify(complete.body)).toBe(200);
      expect(complete.body.status, complete.body.error ?? "").toBe("completed");
      expect(await imagesIdentical(src, "raw", complete.body.disks[0].targetPath!)).toBe(true);
      expect(existsSync(dir), `the key folder ${dir} is left after the job completed`).toBe(false);
      expect(await processesOf(runDir())).toEqual([]);

      // No later answer, event, audit row or log line has the key.
      const later = [
        await server.api("GET", `/backups/${job.id}`),
        await server.api("GET", `/backups?limit=10`),
        await server.api("GET", "/nbd/qemu-nbd?recent=600"),
        await server.api("GET", "/audit?limit=100"),
      ];
      for (const answer of later) {
        expect(answer.status).toBe(200);
        expect(JSON.stringify(answer.body).includes(tls.psk), "a later answer has the key").toBe(false);
      }
      const detail = later[0].body as Job & { disks: Disk[]; events: unknown[] };
      expect(detail.disks[0].tls).toBeUndefined();
      expect(detail.events.length).toBeGreaterThan(0);
      expect(server.output().includes(tls.psk), "the server's log has the key").toBe(false);
    },
  );

  it("a cancelled external job's key folder is removed, and its export is gone", { timeout: 60_000 }, async () => {
    const { job, tls } = await startExternal("tls02");
    const dir = await keyDirOf(tls);
    const cancel = await server.api<Job>("POST", `/backups/${job.id}/cancel`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(202);
    expect((await until(job.id, ["cancelled"])).status).toBe("cancelled");
    expect(existsSync(dir), "the key folder is left after the job was cancelled").toBe(false);
    expect(await processesOf(runDir())).toEqual([]);
    expect(server.output().includes(tls.psk)).toBe(false);
  });

  it(
    "an external job answered queued (no free ports) carries its keys too, and they open its exports once it runs",
    { timeout: 120_000 },
    async () => {
      const { hold, queued } = await holdPoolThenQueue("tls-hold", "tls-queued");
      const tls = queued.body.disks[0].tls;
      expect(tls, "the queued answer carries the disk's key").toBeDefined();
      expect((await server.api<Job>("POST", `/backups/${hold.body.id}/cancel`)).status).toBe(202);

      const running = await waitFor(
        async () => {
          const r = await server.api<Job>("GET", `/backups/${queued.body.id}`);
          return r.body.disks[0].status === "transferring" ? r.body : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: "the queued job's export to be ready" },
      );
      expect(running.disks[0].tls, "a later answer has no key").toBeUndefined();
      const disk = running.disks[0];
      const info = await execa("nbdinfo", ["--size", tlsUri(disk, tls!, await pskFile("queued.psk", tls!))]);
      expect(Number(info.stdout)).toBe(8 * MiB);
      expect((await server.api<Job>("POST", `/backups/${queued.body.id}/cancel`)).status).toBe(202);
      await until(queued.body.id, ["cancelled"]);
      expect(await processesOf(runDir())).toEqual([]);
    },
  );

  it("a built-in job still completes: its export stays on loopback, without TLS", { timeout: 120_000 }, async () => {
    await makeImage(path.join(server.dataDir, "sources", "builtin.img"), { sizeMiB: 16, randomMiB: 4 });
    const r = await server.api<Job>("POST", "/backups", {
      vmName: "tls03",
      type: "full",
      disks: [{ source: "builtin.img" }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.disks[0].tls).toBeUndefined();
    const done = await until(r.body.id, ["completed", "failed", "cancelled"]);
    expect(done.status, done.error ?? "").toBe("completed");
    expect(done.disks[0].nbdUri).toMatch(/^nbd:\/\/127\.0\.0\.1:\d+\/tls03-disk0$/);
    expect(
      await imagesIdentical(path.join(server.dataDir, "sources", "builtin.img"), "raw", done.disks[0].targetPath!),
    ).toBe(true);
    const left = (await fs.readdir(runDir())).filter((name) => name.startsWith("tls-"));
    expect(left).toEqual([]);
  });

  it(
    "an export restore hands out each disk's key in its 202 answer only; plain clients are refused",
    { timeout: 120_000 },
    async () => {
      type Restore = { id: string; status: string; error: string | null; disks: Disk[] };
      const jobs = await server.api<{ items: Job[] }>("GET", "/backups?limit=50");
      const point = jobs.body.items.find((j) => j.status === "completed" && j.disks[0].nbdUri?.includes("tls03"));
      expect(point, "the built-in job above left a restore point").toBeDefined();
      const r = await server.api<Restore>("POST", "/restores", { jobId: point!.id, mode: "export", ttlSeconds: 600 });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const tls = r.body.disks[0].tls;
      expect(tls?.psk).toMatch(/^[0-9a-f]{64}$/);
      const ready = await waitFor(
        async () => {
          const got = await server.api<Restore>("GET", `/restores/${r.body.id}`);
          return got.body.status === "ready" || got.body.status === "failed" ? got.body : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `restore ${r.body.id} to be ready` },
      );
      expect(ready.status, ready.error ?? "").toBe("ready");
      const disk = ready.disks[0];
      expect(disk.nbdUri).toMatch(/^nbds:\/\/127\.0\.0\.1:\d+\//);
      expect(disk.tls, "a later answer must not carry the key").toBeUndefined();
      expect((await execa("nbdinfo", [plainUri(disk)], { reject: false })).exitCode).not.toBe(0);
      const keyFile = await pskFile("restore.psk", tls!);
      await execa("nbdinfo", [tlsUri(disk, tls!, keyFile)]);
      expect((await server.api("POST", `/restores/${r.body.id}/cancel`)).status).toBe(202);
      await waitFor(
        async () => ((await fs.readdir(runDir())).some((name) => name.startsWith("tls-")) ? undefined : true),
        { timeoutMs: 15_000, intervalMs: 100, what: "the restore's key folder to be removed" },
      );
      expect(server.output().includes(tls!.psk), "the server's log has the restore's key").toBe(false);
    },
  );

  it(
    "a queued external job whose keys went with a stopped server fails saying so, and holds nothing",
    { timeout: 180_000 },
    async () => {
      const { queued } = await holdPoolThenQueue("tls-hold2", "tls-lost");
      // A restart: the running job ends with the server; the queued one is started by the next.
      await server.stop();
      server = await fleet.startAgain(server);
      const ended = await until(queued.body.id, ["failed", "completed", "cancelled"]);
      expect(ended.status).toBe("failed");
      expect(ended.error).toContain("no client holds the keys to its exports: post the job again");
      expect(await processesOf(runDir())).toEqual([]);
    },
  );
});
