// Regressions of breaches the fault campaign found (tests/chaos, docs/decisions/007). Each
// test replays the exact fault sequence behind one breach against the real server.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChaosEnvironment } from "../chaos/environment";
import { listProcesses } from "../chaos/processes";
import { waitFor } from "../helpers/wait";

type Job = { id: string; status: string; error: string | null; disks: { diskId: string; status: string; targetPath: string }[] };

const env = new ChaosEnvironment(() => undefined);
const isRoot = process.getuid?.() === 0;

beforeAll(async () => {
  await env.setup({ ports: 4, repoSizeMiB: 256, nbdSizesMiB: [64], nbdRateBits: "16M" });
  await env.startServer();
}, 120_000);

afterAll(async () => {
  const problems = await env.teardown();
  expect(problems).toEqual([]);
}, 120_000);

async function startSlowJob(vmName: string): Promise<Job> {
  const r = await env.api<Job>("POST", "/backups", { vmName, type: "full", disks: [{ diskId: "d0", source: env.nbd[0].slow.uri }] });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  // Copying: the mover runs and the target exists.
  await waitFor(async () => (await listProcesses(env.runDir)).some((p) => p.kind === "mover" && p.exportName === `${vmName}-d0`), { timeoutMs: 30_000, what: "the mover to run" });
  return r.body;
}

async function statusOf(id: string): Promise<{ status: string; error: string | null }> {
  const rows = await env.sql<{ status: string; error: string | null }>(`SELECT status, error FROM backup_jobs WHERE id = $1`, [id]);
  return rows[0];
}

async function expectNothingHeld(): Promise<void> {
  await waitFor(
    async () => {
      const allocations = await env.sql(`SELECT port FROM port_allocations`);
      const exports = await env.sql(`SELECT port FROM nbd_exports WHERE status IN ('starting','ready','stopping')`);
      const procs = await listProcesses(env.runDir);
      return allocations.length === 0 && exports.length === 0 && procs.length === 0;
    },
    { timeoutMs: 10_000, what: "no port, export or process left" },
  );
}

describe("breaches found by the fault campaign", () => {
  it("a job that ends while Postgres restarts still ends, and gives back its port and export (seed 1183413031)", { timeout: 120_000 }, async () => {
    const job = await startSlowJob("pgdown");
    await env.stopPostgres();
    const mover = (await listProcesses(env.runDir)).find((p) => p.kind === "mover")!;
    process.kill(mover.pid, "SIGKILL");
    // The job's coordinator ends the job now, with the database away.
    await new Promise((r) => setTimeout(r, 2000));
    await env.startPostgres();
    // Before the fix, finishJob threw and nobody retried: the job stayed "running" for good,
    // holding its port. Invariant 1: final within 30 s.
    const ended = await waitFor(async () => {
      const row = await statusOf(job.id);
      return ["completed", "failed", "cancelled"].includes(row.status) ? row : undefined;
    }, { timeoutMs: 30_000, what: `job ${job.id} to end after Postgres came back` });
    expect(ended.status).toBe("failed");
    expect(ended.error).toMatch(/mover|nbdcopy/);
    await expectNothingHeld();
    expect(existsSync(job.disks[0].targetPath)).toBe(false);
    const events = await env.api<{ events: { kind: string }[] }>("GET", `/backups/${job.id}`);
    expect(events.body.events.filter((e) => e.kind === "job.failed")).toHaveLength(1);
  });

  it.skipIf(!isRoot)("a target that could not be removed while the repository was read-only is removed once it is writable", { timeout: 120_000 }, async () => {
    const job = await startSlowJob("rorepo");
    await env.makeRepositoryReadOnly();
    try {
      const cancel = await env.api<Job>("POST", `/backups/${job.id}/cancel`);
      expect(cancel.status).toBe(202);
      expect(cancel.body.status).toBe("cancelled");
      expect(existsSync(job.disks[0].targetPath)).toBe(true); // EROFS: it cannot go yet
    } finally {
      await env.makeRepositoryWritable();
    }
    // Before the fix the incomplete target stayed in the repository for good (invariant 4).
    await waitFor(async () => !existsSync(job.disks[0].targetPath), { timeoutMs: 15_000, what: "the incomplete target to be removed" });
    await expectNothingHeld();
  });

  it.skipIf(!isRoot)("a leftover target of a server that crashed is removed by the next start", { timeout: 120_000 }, async () => {
    const job = await startSlowJob("rocrash");
    await env.makeRepositoryReadOnly();
    try {
      expect((await env.api<Job>("POST", `/backups/${job.id}/cancel`)).status).toBe(202);
      await env.killServer();
    } finally {
      await env.makeRepositoryWritable();
    }
    expect(existsSync(job.disks[0].targetPath)).toBe(true);
    await env.restartServer();
    await waitFor(async () => !existsSync(job.disks[0].targetPath), { timeoutMs: 10_000, what: "the next start to remove the leftover target" });
    expect((await statusOf(job.id)).status).toBe("cancelled");
    await expectNothingHeld();
  });
});
