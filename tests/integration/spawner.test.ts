// Issue 15: every child is started by the process helper (lib/proc/spawner.mjs), not by a fork of
// the server. What a caller sees of a child (output, exit, timeout, kill) comes back through it;
// a helper killed with SIGKILL leaves no child unwatched: a running command is killed and fails,
// an export's qemu-nbd runs on, watched by pid and start time and still stoppable, and a backup
// whose mover was copying fails with nothing left behind.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ExportInfo } from "@/lib/nbd/types";
import { parseProcStat } from "@/lib/proc/stat";
import { createLogger } from "@/lib/log";
import { runChild, Spawner, startChild } from "@/lib/proc/child";
import { childEnv } from "@/lib/proc/child-env";
import { slowSource } from "../helpers/nbdkit";
import { processesOf } from "../helpers/processes";
import { ServerFleet } from "../helpers/server-fleet";
import { ended, expectNothingLeft, jobOf, until } from "../helpers/stall-jobs";
import { waitFor, withDeadline } from "../helpers/wait";
import { killQemuNbdUnder, makeQcow2, qemuNbdUnder } from "./nbd-helpers";

const fleet = new ServerFleet("spawner");
const dataDirs: string[] = [];
afterAll(async () => {
  await fleet.end();
  // Safety net: a failed test must not leave an export running (the test itself expects none).
  for (const dir of dataDirs) await killQemuNbdUnder(dir);
});

async function parentOf(pid: number): Promise<number> {
  const stat = parseProcStat(await readFile(`/proc/${pid}/stat`, "utf8"));
  if (!stat) throw new Error(`no /proc/${pid}/stat`);
  return stat.ppid;
}

async function isHelper(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.split("\0").some((arg) => arg.endsWith(path.join("lib", "proc", "spawner.mjs")));
}

/** The process helper of `parent`: its child running lib/proc/spawner.mjs. */
async function helperOf(parent: number): Promise<number> {
  return waitFor(
    async () => {
      const { readdir } = await import("node:fs/promises");
      for (const entry of (await readdir("/proc")).filter((e) => /^\d+$/.test(e))) {
        const pid = Number(entry);
        if ((await parentOf(pid).catch(() => -1)) === parent && (await isHelper(pid))) return pid;
      }
      return undefined;
    },
    { timeoutMs: 10_000, what: `the process helper of pid ${parent}` },
  );
}

/** The helper's environment: the children's minimal one, and the IPC channel Node's fork adds. */
const HELPER_ENV = ["LANG", "LC_ALL", "NODE_CHANNEL_FD", "NODE_CHANNEL_SERIALIZATION_MODE", "PATH"];

async function environOf(pid: number): Promise<string[]> {
  const raw = await readFile(`/proc/${pid}/environ`, "utf8");
  return raw
    .split("\0")
    .filter(Boolean)
    .map((entry) => entry.slice(0, entry.indexOf("=")));
}

const alive = async (pid: number) => {
  const stat = parseProcStat(await readFile(`/proc/${pid}/stat`, "utf8").catch(() => ""));
  return stat !== null && stat.state !== "Z" && stat.state !== "X";
};

describe("children started through the process helper", () => {
  it("a child's output and exit code reach the caller; its parent is the helper, whose environment is minimal", async () => {
    const child = startChild("sh", ["-c", "echo out; echo err >&2; sleep 0.2; exit 3"], { stderr: "pipe" });
    const started = await child.spawned;
    expect(started?.pid).toBeGreaterThan(0);
    expect(started?.startTime).toBeTypeOf("bigint");
    const helper = await parentOf(started!.pid);
    expect(helper, "the child's parent").not.toBe(process.pid);
    expect(await isHelper(helper), `pid ${helper} runs lib/proc/spawner.mjs`).toBe(true);
    expect((await environOf(helper)).sort()).toEqual(HELPER_ENV);
    const result = await child.result;
    expect(result).toMatchObject({ exitCode: 3, stdout: "out", stderr: "err", failed: true, timedOut: false });
    await expect(runChild("sh", ["-c", "exit 3"])).rejects.toThrow(/exit code 3/);
  });

  it("streamed stderr and file descriptor 3 arrive in order, chunk by chunk", async () => {
    const child = startChild("sh", ["-c", "for i in 1 2 3; do echo $i/100 >&3; echo line$i >&2; done"], {
      stdout: "ignore",
      stderr: "stream",
      fd3: true,
    });
    let fd3 = "";
    let stderr = "";
    child.onFd3((chunk) => (fd3 += chunk.toString()));
    child.onStderr((chunk) => (stderr += chunk.toString()));
    const result = await child.result;
    expect(result.exitCode).toBe(0);
    expect(fd3).toBe("1/100\n2/100\n3/100\n");
    expect(stderr).toBe("line1\nline2\nline3\n");
  });

  it("a timeout and a kill end the child, and say so", async () => {
    const began = Date.now();
    const timedOut = await runChild("sleep", ["30"], { reject: false, timeout: 300 });
    expect(timedOut).toMatchObject({ timedOut: true, failed: true, signal: "SIGTERM" });
    expect(Date.now() - began).toBeLessThan(10_000);

    const child = startChild("sleep", ["30"]);
    const started = await child.spawned;
    expect(child.kill("SIGKILL")).toBe(true);
    expect(await withDeadline(child.result, 10_000, "the killed sleep to end")).toMatchObject({ signal: "SIGKILL" });
    expect(await alive(started!.pid)).toBe(false);
    expect(child.kill("SIGTERM"), "a kill after the exit").toBe(false);

    const controller = new AbortController();
    const canceled = startChild("sleep", ["30"], { cancelSignal: controller.signal });
    await canceled.spawned;
    controller.abort();
    expect(await canceled.result).toMatchObject({ isCanceled: true, signal: "SIGTERM" });
  });

  it("a tool that is not there fails to start, with the reason", async () => {
    const result = await runChild("/nonexistent/nbdhub-tool", [], { reject: false });
    expect(result).toMatchObject({ spawnFailed: true, failed: true, exitCode: undefined });
    expect(result.shortMessage).toMatch(/ENOENT/);
  });

  it("kill -9 of the helper: a running command is killed and fails; the next child gets a new helper", async () => {
    const child = startChild("sleep", ["30"]);
    const started = await child.spawned;
    const helper = await parentOf(started!.pid);
    process.kill(helper, "SIGKILL");
    await expect(withDeadline(child.result, 10_000, "the command to fail")).rejects.toThrow(
      /^the process helper died; sleep was killed$/,
    );
    expect(await alive(started!.pid), "the orphaned sleep").toBe(false);
    const next = startChild("true", []);
    const again = await next.spawned;
    expect((await next.result).exitCode).toBe(0);
    expect(await isHelper(helper)).toBe(false);
    expect(again!.pid).toBeGreaterThan(0);
  });
});

describe("a process helper that cannot start", () => {
  it("children are then started by the process itself, and that is logged once", async () => {
    const lines: string[] = [];
    const saved = process.env.NBDHUB_LOG;
    delete process.env.NBDHUB_LOG;
    try {
      const helper = new Spawner(
        "/nonexistent/lib/proc/spawner.mjs",
        createLogger("test", (line) => lines.push(line)),
      );
      const first = helper.start({ file: "sh", args: ["-c", "echo $PPID"], options: { env: childEnv() } });
      const result = await withDeadline(first.handle.result, 10_000, "the first child without a helper");
      expect(Number(result.stdout), "the child's parent").toBe(process.pid);
      const second = await helper.start({ file: "true", args: [], options: { env: childEnv() } }).handle.result;
      expect(second.exitCode).toBe(0);
      // A kill sent while the helper was still expected reaches the child once it runs here.
      const other = new Spawner(
        "/nonexistent/lib/proc/spawner.mjs",
        createLogger("test", () => undefined),
      );
      const sleeping = other.start({ file: "sleep", args: ["30"], options: { env: childEnv() } });
      expect(sleeping.handle.kill("SIGTERM")).toBe(true);
      expect(await withDeadline(sleeping.handle.result, 10_000, "the sleep killed before it ran")).toMatchObject({
        signal: "SIGTERM",
      });
      expect(lines.filter((line) => line.includes("the process helper could not start"))).toHaveLength(1);
    } finally {
      if (saved !== undefined) process.env.NBDHUB_LOG = saved;
    }
  });
});

describe("kill -9 of a server's process helper", () => {
  it(
    "leaves its exports watched and stoppable, fails the copying backup with no process left, and starts a new helper",
    { timeout: 120_000 },
    async () => {
      const s = await fleet.start({}, { ports: 6 });
      dataDirs.push(s.dataDir);
      const repo = path.join(s.dataDir, "repository");
      const helper = await helperOf(s.process.pid!);
      expect((await environOf(helper)).sort()).toEqual(HELPER_ENV);
      const port = (await s.api<{ range: { min: number } }>("GET", "/nbd/ports")).body.range.min;
      const exportOn = async (p: number, name: string) => {
        await makeQcow2(path.join(repo, `${name}.qcow2`));
        const r = await s.api<ExportInfo>("POST", "/nbd/qemu-nbd/start", {
          port: p,
          exportName: name,
          filePath: `${name}.qcow2`,
          jobId: `job-${name}`,
          vmName: "vm1",
          diskId: name,
        });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        return r.body;
      };
      const watched = await exportOn(port, "watched");
      const stoppable = await exportOn(port + 1, "stoppable");
      const source = await fleet.source(slowSource("2G", "48M"));
      const backup = await s.api<{ id: string }>("POST", "/backups", {
        vmName: "copying",
        type: "full",
        disks: [{ source: source.uri }],
      });
      expect(backup.status, JSON.stringify(backup.body)).toBe(202);
      await until(s, backup.body.id, (j) => j.disks[0].transferredBytes > 0, 30_000, "the copy to make progress");
      const runDir = path.join(s.dataDir, "run");
      expect((await processesOf(runDir)).map((p) => p.comm)).toContain("nbdcopy");

      process.kill(helper, "SIGKILL");

      const failed = await until(s, backup.body.id, ended, 20_000, "the backup to end");
      expect(failed.status).toBe("failed");
      expect(failed.error).toMatch(/the process helper died; nbdcopy was killed/);
      expect((await processesOf(runDir)).filter((p) => p.comm === "nbdcopy")).toEqual([]);

      // The exports' qemu-nbd run on, and the server still sees them end.
      expect(await alive(watched.pid!)).toBe(true);
      expect((await s.api<ExportInfo>("GET", `/nbd/qemu-nbd/${port}`)).body.status).toBe("ready");
      process.kill(watched.pid!, "SIGKILL");
      await waitFor(async () => (await s.api<ExportInfo>("GET", `/nbd/qemu-nbd/${port}`)).body.status === "crashed", {
        timeoutMs: 15_000,
        what: "the export whose qemu-nbd was killed to show crashed",
      });
      const stopped = await s.api("POST", "/nbd/qemu-nbd/stop", { port: port + 1 });
      expect(stopped).toMatchObject({ status: 200, body: { stopped: [port + 1], unclean: [] } });
      expect(await alive(stoppable.pid!)).toBe(false);

      // The next child starts a new helper: a new export serves.
      const fresh = await exportOn(port + 2, "fresh");
      const newHelper = await parentOf(fresh.pid!);
      expect(newHelper).not.toBe(helper);
      expect(await isHelper(newHelper)).toBe(true);
      await s.api("POST", "/nbd/qemu-nbd/stop", { port: port + 2 });
      expect(await qemuNbdUnder(s.dataDir)).toEqual([]);
      await expectNothingLeft(s);
      expect((await jobOf(s, backup.body.id)).status).toBe("failed");
    },
  );

  it("exits when its server dies, leaving the server's exports to the reconciler", { timeout: 60_000 }, async () => {
    const s = await fleet.start({}, { ports: 2 });
    dataDirs.push(s.dataDir);
    const helper = await helperOf(s.process.pid!);
    const port = (await s.api<{ range: { min: number } }>("GET", "/nbd/ports")).body.range.min;
    await makeQcow2(path.join(s.dataDir, "repository", "left.qcow2"));
    const started = await s.api<ExportInfo>("POST", "/nbd/qemu-nbd/start", {
      port,
      exportName: "left",
      filePath: "left.qcow2",
      jobId: "job-left",
      vmName: "vm1",
      diskId: "left",
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    await s.kill();
    await waitFor(async () => !(await isHelper(helper)), {
      timeoutMs: 10_000,
      what: "the process helper to exit after its server was killed",
    });
    expect(await alive(started.body.pid!), "the export's qemu-nbd after the server died").toBe(true);
    expect(await killQemuNbdUnder(s.dataDir)).toBe(1);
  });
});
