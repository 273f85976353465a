// Issue 16, "Schedule": a policy with a seconds-level schedule runs about every 5 s, each slot
// once, with two server processes on one database (different data directories and port
// ranges) and one of them restarted in the middle. What a user can see: the runs of the policy
// (GET /policies/{id}/runs) and its jobs (GET /backups?vmName=), and the rows behind them.
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images";
import { freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor } from "../helpers/wait";

type Run = { slot: string | null; trigger: string; status: string; reason: string | null; jobId: string | null };
type Policy = { id: string; nextRunAt: string | null; lastRun: Run | null };

const fleet = new ServerFleet("polsched");
const extra: TestServer[] = [];
afterAll(async () => {
  for (const s of extra) await s.stop().catch(() => undefined);
  await fleet.end();
});

async function startedRuns(server: TestServer, id: string): Promise<Run[]> {
  const r = await server.api<{ items: Run[] }>("GET", `/policies/${id}/runs`);
  expect(r.status).toBe(200);
  return r.body.items.filter((x) => x.status === "started");
}

describe("a seconds-level schedule", () => {
  const six = "runs six slots in about 30 s, each once, across a restart and with two server processes";
  it(six, { timeout: 240_000 }, async () => {
    const sources = await mkdtemp(path.join(os.tmpdir(), "nbdhub-polsched-src-"));
    await makeImage(path.join(sources, "disk.img"), { sizeMiB: 4, randomMiB: 1 });
    const shared = { NBDHUB_SOURCES_DIR: sources, NBDHUB_DEMO_SOURCES: "0" };
    const a = await fleet.start(shared, { ports: 4 });
    const range = await freePortRange(4);
    const bDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-polsched-b-"));
    const b = await startServer({ ...a.env, NBDHUB_DATA_DIR: bDir, NBDHUB_PORT_RANGE: `${range.min}-${range.max}` });
    extra.push(b);

    const created = await a.api<Policy>("POST", "/policies", {
      name: "every-5s",
      vmName: "sched-vm",
      disks: [{ diskId: "d0", source: "disk.img" }],
      schedule: "*/5 * * * * *",
      timezone: "UTC",
      fullEvery: 1,
      retention: { keepLast: 0 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;
    const t0 = Date.now();

    // Two runs in, server A is restarted (SIGTERM, then a new process on its database and data).
    await waitFor(async () => ((await startedRuns(b, id)).length >= 2 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: "two started runs",
    });
    await a.stop();
    const a2 = await fleet.startAgain(a);

    const runs = await waitFor(
      async () => {
        const started = await startedRuns(a2, id);
        return started.length >= 6 ? started : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: "six started runs" },
    );
    const seconds = (Date.now() - t0) / 1000;
    await a2.api("PATCH", `/policies/${id}`, { enabled: false });

    // Each slot once: distinct slots, one job per started run, every job of the VM from a run.
    const slots = runs.map((r) => r.slot);
    expect(new Set(slots).size, `slots ${slots.join(", ")}`).toBe(slots.length);
    for (const s of slots) expect(new Date(s as string).getUTCSeconds() % 5, `slot ${s}`).toBe(0);
    const db = await fleet.client(a2);
    const dup = await db.query(
      `SELECT slot, count(*) FROM policy_runs WHERE policy_id = $1 GROUP BY slot HAVING count(*) > 1`,
      [id],
    );
    expect(dup.rows, "a slot recorded twice").toEqual([]);
    const jobs = await db.query<{ id: string; policy_id: string; requested_by: string }>(
      `SELECT id, policy_id, requested_by FROM backup_jobs WHERE vm_name = 'sched-vm'`,
    );
    const all = await startedRuns(a2, id);
    expect(jobs.rows.length, "one job per started run, none more").toBe(all.length);
    expect(new Set(all.map((r) => r.jobId)).size).toBe(all.length);
    for (const j of jobs.rows) {
      expect(j.policy_id).toBe(id);
      expect(j.requested_by).toBe("policy:every-5s");
    }
    // About 30 s for six 5-second slots (a loaded machine may skip a slot while a run is still going).
    console.log(`six started runs after ${seconds.toFixed(1)} s; runs: ${all.length}`);
    expect(seconds).toBeLessThan(75);
  });
});

describe("policy validation", () => {
  it("refuses a bad schedule and time zone naming each field, and creates nothing", { timeout: 60_000 }, async () => {
    const s = await fleet.start({}, { ports: 2 });
    type Refusal = { error: { code: string; message: string; details: Record<string, string> } };
    const r = await s.api<Refusal>("POST", "/policies", {
      name: "bad",
      vmName: "vm",
      disks: [{ source: "nothing-here.img" }],
      schedule: "61 * * * *",
      timezone: "Mars/Olympus",
    });
    expect(r.status).toBe(422);
    expect(r.body.error.details.schedule).toMatch(/minute field "61"/);
    expect(r.body.error.details.timezone).toMatch(/Mars\/Olympus/);
    expect(Object.keys(r.body.error.details).some((k) => k.startsWith("disks.0"))).toBe(true);
    const list = await s.api<{ items: unknown[] }>("GET", "/policies");
    expect(list.body.items).toEqual([]);
    const query = `schedule=${encodeURIComponent("0 3 * * *")}&timezone=Europe/Berlin`;
    const next = await s.api<{ nextRuns: string[] }>("GET", `/policies/next-runs?${query}`);
    expect(next.status).toBe(200);
    expect(next.body.nextRuns).toHaveLength(5);
  });
});
