// nbdhub-client run as a user runs it (node bin/nbdhub-client.mjs, a child process with its own
// small environment) against the real server: a backup of a raw and a qcow2 file, a Ctrl-C in
// the middle of a slow copy, a restore of the backup, the job queries, its refusals, and a backup
// and restore against a hub that requires TLS.
import { spawn } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images";
import { slowSource } from "../helpers/nbdkit";
import { expectNothingHeld } from "../helpers/held";
import { TEST_TOKEN, type TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor, withDeadline } from "../helpers/wait";

type Disk = { diskId: string; status: string; targetPath: string; transferredBytes: number; verification: string };
type Job = { id: string; vmName: string; status: string; error: string | null; verification: string; disks: Disk[] };
type Restore = { id: string; status: string };

const BIN = path.resolve(__dirname, "../../bin/nbdhub-client.mjs");
const fleet = new ServerFleet("cli");
let server: TestServer;
let dir: string;
let tokenFile: string;
let rawDisk: string;
let qcowDisk: string;

beforeAll(async () => {
  server = await fleet.start({}, { ports: 4 });
  dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-cli-test-"));
  tokenFile = path.join(dir, "token");
  await writeFile(tokenFile, `${TEST_TOKEN}\n`, { mode: 0o600 });
  rawDisk = await makeImage(path.join(dir, "vm", "root.img"), { sizeMiB: 24, randomMiB: 5 });
  qcowDisk = await makeImage(path.join(dir, "vm", "data.qcow2"), { sizeMiB: 16, randomMiB: 3, format: "qcow2" });
}, 120_000);

afterAll(async () => {
  await fleet.end();
  await rm(dir, { recursive: true, force: true });
});

/** The CLI's environment: PATH alone (no NBDHUB_TOKEN inherited from anywhere). */
const cliEnv = (extra: Record<string, string> = {}) =>
  ({ PATH: process.env.PATH ?? "/usr/bin:/bin", ...extra }) as Partial<NodeJS.ProcessEnv> as NodeJS.ProcessEnv;

async function cli(args: string[], env: Record<string, string> = {}) {
  const r = await execa(process.execPath, [BIN, ...args], {
    reject: false,
    extendEnv: false,
    env: cliEnv(env),
    timeout: 120_000,
  });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

const hub = () => ["--hub", server.url, "--token-file", tokenFile];

async function jobOf(vmName: string): Promise<Job | undefined> {
  const list = await server.api<{ items: Job[] }>("GET", `/backups?vmName=${vmName}`);
  return list.body.items[0];
}

async function compare(a: string, aFormat: string, b: string, bFormat: string): Promise<string> {
  const r = await execa("qemu-img", ["compare", "-f", aFormat, "-F", bFormat, a, b], { reject: false });
  return r.exitCode === 0 ? "identical" : `${r.exitCode}: ${r.stdout}${r.stderr}`;
}

/** The job's two targets hold the two disks' guest contents (raw file, then qcow2 file). */
async function expectTargetsHoldTheDisks(job: Job): Promise<void> {
  expect(await compare(rawDisk, "raw", job.disks[0].targetPath, "qcow2")).toBe("identical");
  expect(await compare(qcowDisk, "qcow2", job.disks[1].targetPath, "qcow2")).toBe("identical");
}

/** A restore of that job into `folder` wrote each disk back as a raw file, byte for byte. */
async function expectRestoredDisks(folder: string): Promise<void> {
  expect(await compare(path.join(folder, "disk0.raw"), "raw", rawDisk, "raw")).toBe("identical");
  expect(await compare(path.join(folder, "disk1.raw"), "raw", qcowDisk, "qcow2")).toBe("identical");
}

describe("nbdhub-client", () => {
  let completed: Job;

  it(
    "backs up a raw and a qcow2 file in one job; the targets hold the guests' contents",
    { timeout: 180_000 },
    async () => {
      const r = await cli(["backup", ...hub(), "--vm", "cli-vm", "--disk", rawDisk, "--disk", qcowDisk]);
      expect(r.stderr).toBe("");
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/disk0 ← .*root\.img \(raw file, 24\.0 MiB\)/);
      expect(r.stdout).toMatch(/disk1 ← .*data\.qcow2 \(qcow2 file, 16\.0 MiB\)/);
      // Not a terminal: plain progress lines, the last one at 100 %.
      expect(r.stdout).toMatch(/^disk0: 100% 24\.0 MiB of 24\.0 MiB$/m);
      const job = (await jobOf("cli-vm"))!;
      expect(r.stdout).toContain(`job ${job.id}: completed`);
      const answer = await server.api<Job>("GET", `/backups/${job.id}`);
      completed = answer.body;
      expect(completed.status).toBe("completed");
      expect(completed.disks.map((d) => [d.diskId, d.status])).toEqual([
        ["disk0", "completed"],
        ["disk1", "completed"],
      ]);
      for (const d of completed.disks) expect(d.verification).toContain("qemu-img check passed");
      await expectTargetsHoldTheDisks(completed);
      await expectNothingHeld(server);
    },
  );

  it("restores that job's disks into a folder, byte for byte, and ends the restore", { timeout: 180_000 }, async () => {
    const out = path.join(dir, "restored");
    await execa("mkdir", ["-p", out]);
    const r = await cli(["restore", ...hub(), "--job", completed.id, "--to", `${out}/`]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    await expectRestoredDisks(out);
    const id = /restore (\S+) of job/.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeTruthy();
    const restore = await server.api<Restore>("GET", `/restores/${id}`);
    expect(restore.body.status).toBe("cancelled");
    await expectNothingHeld(server);
    // Once more into the same files: refused without --force, nothing asked of the hub.
    const again = await cli([
      "restore",
      ...hub(),
      "--job",
      completed.id,
      "--disk",
      "disk0",
      "--to",
      path.join(out, "disk0.raw"),
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("exists: pass --force");
  });

  it(
    "Ctrl-C in the middle of a copy cancels the job on the hub and leaves nothing held",
    { timeout: 180_000 },
    async () => {
      // 32 Mbit/s (the rate filter counts bits): 4 MiB a second, about a minute for the disk.
      const source = await fleet.source(slowSource("256M", "32M"));
      const child = spawn(process.execPath, [BIN, "backup", ...hub(), "--vm", "cli-slow", "--disk", source.uri], {
        env: cliEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      try {
        // The hub has the disk transferring and a progress report: the copy is under way.
        const job = await waitFor(
          async () => {
            const j = await jobOf("cli-slow");
            return j && j.disks[0]?.status === "transferring" && j.disks[0].transferredBytes > 0 ? j : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 100, what: "the hub to show the CLI's copy under way" },
        );
        child.kill("SIGINT");
        const code = await withDeadline(exited, 60_000, "the CLI to exit after SIGINT");
        expect(code, output).toBe(130);
        const ended = await server.api<Job>("GET", `/backups/${job.id}`);
        expect(ended.body.status).toBe("cancelled");
        expect(output).toContain("cancelling on the hub");
        await expectNothingHeld(server);
      } finally {
        child.kill("SIGKILL");
      }
    },
  );

  it(
    "an incremental copies only what the qcow2 file's dirty bitmap marks, onto the last backup",
    { timeout: 180_000 },
    async () => {
      const disk = await makeImage(path.join(dir, "inc", "disk.qcow2"), { sizeMiB: 16, randomMiB: 3, format: "qcow2" });
      await execa("qemu-img", ["bitmap", "--add", "-f", "qcow2", disk, "b0"]);
      const full = await cli(["backup", ...hub(), "--vm", "cli-inc", "--disk", disk]);
      expect(full.code, `${full.stdout}\n${full.stderr}`).toBe(0);
      // The guest writes 64 KiB after the full backup: the bitmap records it.
      await execa("qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 1M 64k", disk]);
      const inc = await cli([
        "backup",
        ...hub(),
        "--vm",
        "cli-inc",
        "--disk",
        disk,
        "--incremental",
        "--dirty-bitmap",
        "b0",
      ]);
      expect(inc.code, `${inc.stdout}\n${inc.stderr}`).toBe(0);
      expect(inc.stdout).toContain("disk0: 64.0 KiB marked changed by dirty bitmap b0");
      const job = (await jobOf("cli-inc"))!;
      expect(job.status).toBe("completed");
      const answer = await server.api<Job & { type: string }>("GET", `/backups/${job.id}`);
      expect(answer.body.type).toBe("incremental");
      // The overlay read through its backing file (the full backup) is the guest's disk now.
      expect(await compare(disk, "qcow2", answer.body.disks[0].targetPath, "qcow2")).toBe("identical");
      // A raw file has no bitmap: refused before the hub is asked anything.
      const raw = await cli([
        "backup",
        ...hub(),
        "--vm",
        "cli-inc",
        "--disk",
        rawDisk,
        "--incremental",
        "--dirty-bitmap",
        "b0",
      ]);
      expect(raw.code).toBe(2);
      expect(raw.stderr).toContain("a raw file has no dirty bitmap b0");
    },
  );

  it("jobs --json and status --json parse and show the job", { timeout: 60_000 }, async () => {
    const list = await cli(["jobs", ...hub(), "--json", "--limit", "5"]);
    expect(list.code, list.stderr).toBe(0);
    const jobs = JSON.parse(list.stdout) as Job[];
    expect(jobs.map((j) => j.id)).toContain(completed.id);
    const one = await cli(["status", ...hub(), completed.id, "--json"]);
    expect(one.code, one.stderr).toBe(0);
    const job = JSON.parse(one.stdout) as Job;
    expect(job).toMatchObject({ id: completed.id, vmName: "cli-vm", status: "completed" });
    const table = await cli(["jobs", ...hub()]);
    expect(table.stdout).toMatch(new RegExp(`^${completed.id}\\s+cli-vm\\s+full\\s+completed`, "m"));
  });

  it(
    "a bad token exits 3 saying so; a token file others can read is refused (exit 2)",
    { timeout: 60_000 },
    async () => {
      const bad = await cli(["jobs", "--hub", server.url], { NBDHUB_TOKEN: "not-a-valid-token-0123456789abcdef" });
      expect(bad.code).toBe(3);
      expect(bad.stderr).toContain("the hub refused the token (401");
      const loose = path.join(dir, "loose-token");
      await writeFile(loose, TEST_TOKEN);
      await chmod(loose, 0o644);
      const refused = await cli(["jobs", "--hub", server.url, "--token-file", loose]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`refusing the token file ${loose}: mode 644`);
      expect(refused.stderr).toContain(`chmod 600 ${loose}`);
    },
  );
});

describe("nbdhub-client against a hub that requires TLS", () => {
  let tlsServer: TestServer;
  const hubTls = () => ["--hub", tlsServer.url, "--token-file", tokenFile];
  beforeAll(async () => {
    // Loopback still (tests stay on it), but every client export needs TLS with its job's key.
    tlsServer = await fleet.start({ NBDHUB_NBD_TLS: "required" }, { ports: 4 });
  }, 120_000);

  it(
    "backs up over nbds:// with the keys of the 202 answer, restores over TLS, and prints no key",
    { timeout: 240_000 },
    async () => {
      const r = await cli(["backup", ...hubTls(), "--vm", "cli-tls", "--disk", rawDisk, "--disk", qcowDisk]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const list = await tlsServer.api<{ items: Job[] }>("GET", "/backups?vmName=cli-tls");
      const job = (await tlsServer.api<Job>("GET", `/backups/${list.body.items[0].id}`)).body;
      expect(job.status).toBe("completed");
      await expectTargetsHoldTheDisks(job);
      // The exports the CLI wrote into required TLS (their URIs said nbds://).
      const exports = await tlsServer.api<{ processes: { jobId: string; uri: string; ownerKind: string }[] }>(
        "GET",
        "/nbd/qemu-nbd?recent=3600",
      );
      const mine = exports.body.processes.filter((e) => e.jobId === job.id && e.ownerKind === "backup");
      expect(mine.length).toBe(2);
      for (const e of mine) expect(e.uri).toMatch(/^nbds:\/\//);

      const out = path.join(dir, "restored-tls");
      await execa("mkdir", ["-p", out]);
      const back = await cli(["restore", ...hubTls(), "--job", job.id, "--to", `${out}/`]);
      expect(back.code, `${back.stdout}\n${back.stderr}`).toBe(0);
      await expectRestoredDisks(out);
      // A 32-byte key is 64 hex digits: none in what the CLI printed, nor in the hub's log.
      for (const text of [r.stdout, r.stderr, back.stdout, back.stderr, tlsServer.output()])
        expect(text).not.toMatch(/[0-9a-f]{64}/);
      await expectNothingHeld(tlsServer);
    },
  );
});
