// Issue 11, item 5: no secret of the server reaches a child process. qemu-nbd (which outlives
// the server), nbdcopy, its helper qemu-nbd, qemu-img, nbdinfo and the embedded PostgreSQL get
// an explicit, minimal environment: never NBDHUB_BOOTSTRAP_TOKEN, NBDHUB_ADMIN_PASSWORD,
// DATABASE_URL, nor anything else the server was started with.
import { chmod, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { makeImage } from "../helpers/images";
import { startNbdkit, type NbdSource } from "../helpers/nbdkit";
import { freePortRange } from "../helpers/ports";
import { startServer, TEST_TOKEN, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";

const PASSWORD = "admin-password-that-must-stay-home-7f3a";
const CANARY = "canary-value-no-child-may-see-41d9";
/**
 * What a child may carry: PATH and the locale, the mover's mark (orphan-movers.ts), and what
 * libnbd adds for the qemu-nbd it starts by socket activation (LISTEN_PID, LISTEN_FDS).
 */
const ALLOWED_KEYS = new Set(["PATH", "LANG", "LC_ALL", "NBDHUB_MOVER_OF", "LISTEN_PID", "LISTEN_FDS"]);
const TOOLS = ["qemu-img", "qemu-nbd", "nbdcopy", "nbdinfo"];

let recordDir: string;
let shimDir: string;
let dbUrl: string;
let nbd: NbdSource;
const servers: TestServer[] = [];

/** A folder of shims, first on the server's PATH: each records its environment, then runs the tool. */
async function recordingShims(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-env-shims-"));
  for (const tool of TOOLS) {
    const real = (await execa("sh", ["-c", `command -v ${tool}`])).stdout.trim();
    // `env -u PWD`: the shell exports PWD, which the tool (and its children) must not be blamed for.
    const script = [
      "#!/bin/sh",
      `cat /proc/$$/environ > "${recordDir}/${tool}.$$"`,
      `exec /usr/bin/env -u PWD ${real} "$@"`,
      "",
    ].join("\n");
    await writeFile(path.join(dir, tool), script);
    await chmod(path.join(dir, tool), 0o755);
  }
  await chmod(dir, 0o755);
  return dir;
}

function parseEnviron(bytes: Buffer): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of bytes.toString("utf8").split("\0").filter(Boolean)) {
    const at = entry.indexOf("=");
    env.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return env;
}

function expectClean(what: string, bytes: Buffer, secrets: string[]): void {
  const text = bytes.toString("utf8");
  for (const secret of secrets) expect(text.includes(secret), `${what} carries a secret of the server`).toBe(false);
  const keys = [...parseEnviron(bytes).keys()].filter((k) => !ALLOWED_KEYS.has(k));
  expect(keys, `${what}: variables beyond the minimal environment`).toEqual([]);
}

beforeAll(async () => {
  recordDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-env-records-"));
  shimDir = await recordingShims();
  dbUrl = await createTestDatabase("childenv");
  nbd = await startNbdkit(["pattern", "size=8M"]);
}, 120_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  await nbd?.stop();
  if (dbUrl) await dropTestDatabase(dbUrl);
});

describe("child processes get a minimal environment", () => {
  it("qemu-img, qemu-nbd, nbdcopy and nbdinfo of a backup carry none of the server's secrets", async () => {
    const range = await freePortRange(4);
    const server = await startServer({
      DATABASE_URL: dbUrl,
      NBDHUB_PORT_RANGE: `${range.min}-${range.max}`,
      NBDHUB_ADMIN_PASSWORD: PASSWORD,
      NBDHUB_TEST_CANARY: CANARY,
      PATH: `${shimDir}:${process.env.PATH}`,
    });
    servers.push(server);
    await makeImage(path.join(server.dataDir, "sources", "root.qcow2"), { sizeMiB: 8, randomMiB: 2, format: "qcow2" });
    await makeImage(path.join(server.dataDir, "sources", "data.img"), { sizeMiB: 8, randomMiB: 2 });
    const disks = [{ source: "root.qcow2" }, { source: "data.img" }, { source: nbd.uri }];
    const r = await server.api<{ id: string }>("POST", "/backups", { vmName: "envvm", type: "full", disks });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const done = await waitFor(
      async () => {
        const j = (await server.api<{ status: string; error: string | null }>("GET", `/backups/${r.body.id}`)).body;
        return ["completed", "failed", "cancelled"].includes(j.status) ? j : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: "the backup to end" },
    );
    expect(done.status, done.error ?? "").toBe("completed");

    const records = await readdir(recordDir);
    for (const tool of TOOLS) {
      expect(
        records.some((f) => f.startsWith(`${tool}.`)),
        `${tool} was run and recorded`,
      ).toBe(true);
    }
    // qemu-nbd twice at least: the export, and nbdcopy's private helper for the qcow2 source.
    expect(records.filter((f) => f.startsWith("qemu-nbd.")).length).toBeGreaterThanOrEqual(2);
    const secrets = [TEST_TOKEN, PASSWORD, dbUrl, new URL(dbUrl).password, CANARY];
    for (const file of records) expectClean(file, await readFile(path.join(recordDir, file)), secrets);
  });

  it("the embedded PostgreSQL's processes carry none of the server's secrets", async () => {
    const server = await startServer({ NBDHUB_ADMIN_PASSWORD: PASSWORD, NBDHUB_TEST_CANARY: CANARY });
    servers.push(server);
    const cluster = path.join(server.dataDir, "postgres", "data");
    const postmasters = await waitFor(
      async () => {
        const found: number[] = [];
        for (const pid of (await readdir("/proc")).filter((e) => /^\d+$/.test(e))) {
          const cmdline = (await readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0))).toString().split("\0");
          if (path.basename(cmdline[0] ?? "") === "postgres" && cmdline.includes(cluster)) found.push(Number(pid));
        }
        return found.length ? found : undefined;
      },
      { timeoutMs: 10_000, what: "the embedded PostgreSQL of the server" },
    );
    // The postmaster and every backend it forked (they inherit its environment).
    const all = new Set(postmasters);
    for (const pid of (await readdir("/proc")).filter((e) => /^\d+$/.test(e)).map(Number)) {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (all.has(ppid)) all.add(pid);
    }
    expect(all.size).toBeGreaterThan(1);
    for (const pid of all) {
      const environ = await readFile(`/proc/${pid}/environ`).catch(() => null);
      if (environ === null) continue; // a backend that ended meanwhile
      const text = environ.toString("utf8");
      for (const secret of [TEST_TOKEN, PASSWORD, CANARY]) {
        expect(text.includes(secret), `postgres ${pid} carries a secret of the server`).toBe(false);
      }
    }
  });
});
