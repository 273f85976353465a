// Issue 16, "Retention": with keepLast 3 and fullEvery 3, after seven runs three points are
// left; each, read through its chain, compares identical to a copy of the source taken when it
// ran; the preview said what happened; no file in the repository belongs to no point. And the
// prune that runs after each policy run (completed or not), audited.
import { copyFile, open } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { filesUnder, imagesIdentical, makeImage } from "../helpers/images";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor } from "../helpers/wait";

type Disk = { diskId: string; targetPath: string };
type Job = { id: string; type: string; status: string; error: string | null; disks: Disk[] };
type Preview = {
  keep: { jobId: string; reasons: string[] }[];
  remove: { jobId: string; reason: string }[];
  merged: string[];
};
type Repo = { usedByBackups: number; vms: { vmName: string; restorePoints: number }[] };

const fleet = new ServerFleet("polret");
afterAll(() => fleet.end());

const MiB = 1024 * 1024;

async function ended(server: TestServer, id: string): Promise<Job> {
  return waitFor(
    async () => {
      const r = await server.api<Job>("GET", `/backups/${id}`);
      return ["completed", "failed", "cancelled"].includes(r.body.status) ? r.body : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `job ${id} to end` },
  );
}

/** Change a few MiB of the source at a place that depends on the run, as a guest would. */
async function touch(file: string, run: number): Promise<void> {
  const handle = await open(file, "r+");
  try {
    await handle.write(randomBytes(MiB), 0, MiB, ((run * 3) % 14) * MiB);
  } finally {
    await handle.close();
  }
}

async function runNow(server: TestServer, id: string): Promise<Job> {
  const r = await server.api<Job>("POST", `/policies/${id}/run`);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return ended(server, r.body.id);
}

describe("retention with keepLast 3 and fullEvery 3", () => {
  const seven = "leaves three restorable points after seven runs, as the preview said, and no stray file";
  it(seven, { timeout: 300_000 }, async () => {
    const server = await fleet.start({ NBDHUB_DEMO_SOURCES: "0" }, { ports: 4 });
    const source = path.join(server.dataDir, "sources", "vm.img");
    await makeImage(source, { sizeMiB: 16, randomMiB: 2 });
    const created = await server.api<{ id: string }>("POST", "/policies", {
      name: "seven",
      vmName: "ret-vm",
      disks: [{ diskId: "d0", source: "vm.img" }],
      // A schedule that does not come during the test: the runs are "Run now".
      schedule: "0 0 1 1 *",
      timezone: "UTC",
      fullEvery: 3,
      retention: { keepLast: 0 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;

    const snapshots = new Map<string, string>();
    const jobs: Job[] = [];
    for (let run = 1; run <= 7; run += 1) {
      await touch(source, run);
      const snapshot = path.join(server.dataDir, `snapshot-${run}.img`);
      await copyFile(source, snapshot);
      const job = await runNow(server, id);
      expect(job.status, job.error ?? "").toBe("completed");
      snapshots.set(job.id, snapshot);
      jobs.push(job);
    }
    expect(jobs.map((j) => j.type)).toEqual([
      "full",
      "incremental",
      "incremental",
      "full",
      "incremental",
      "incremental",
      "full",
    ]);

    // The prune that follows each run reads the policy when it starts: one still to start after the
    // PATCH below would apply keep-last 3 itself, and the explicit prune would find nothing left
    // (seen on a loaded machine). Every run's after-run prune is claimed before the change.
    const db = await fleet.client(server);
    await waitFor(
      async () =>
        (
          await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM policy_runs WHERE policy_id = $1 AND after_run_at IS NULL`,
            [id],
          )
        ).rows[0].n === 0,
      { timeoutMs: 60_000, what: "the prune after each of the seven runs to start" },
    );

    // Now keep the last three: the preview first, then the prune; they must agree.
    expect((await server.api("PATCH", `/policies/${id}`, { retention: { keepLast: 3 } })).status).toBe(200);
    const preview = await server.api<Preview>("GET", `/policies/${id}/prune-preview`);
    expect(preview.status).toBe(200);
    const newest = jobs
      .slice(4)
      .map((j) => j.id)
      .reverse();
    expect(preview.body.keep.map((k) => k.jobId)).toEqual(newest);
    expect(preview.body.keep.map((k) => k.reasons[0])).toEqual(["keep-last 1", "keep-last 2", "keep-last 3"]);
    expect(preview.body.remove.map((r) => r.jobId).sort()).toEqual(
      jobs
        .slice(0, 4)
        .map((j) => j.id)
        .sort(),
    );
    // Points 5 and 6 stand on 4, which goes: its data is merged into them.
    expect(preview.body.merged).toContain(jobs[3].id);

    // The prune that follows every run may still hold the VM's lease: 409 prune_busy says "later".
    type Pruned = { removed: string[]; merged: string[]; error?: { code: string } };
    const pruned = await waitFor(
      async () => {
        const r = await server.api<Pruned>("POST", `/policies/${id}/prune`);
        return r.status === 409 && r.body.error?.code === "prune_busy" ? undefined : r;
      },
      { timeoutMs: 60_000, what: "the prune after the last run to let go of the VM" },
    );
    expect(pruned.status, JSON.stringify(pruned.body)).toBe(200);
    expect(pruned.body.removed.sort()).toEqual(preview.body.remove.map((r) => r.jobId).sort());
    expect(pruned.body.merged.sort()).toEqual([...preview.body.merged].sort());

    // Three points left; each, through its chain, is what the source held when it ran.
    const repo = await server.api<Repo>("GET", "/repository");
    expect(repo.body.vms).toEqual([expect.objectContaining({ vmName: "ret-vm", restorePoints: 3 })]);
    const kept = jobs.slice(4);
    for (const job of kept) {
      const target = job.disks[0].targetPath;
      const same = await imagesIdentical(snapshots.get(job.id) as string, "raw", target);
      expect(same, `point ${job.id} (${job.type})`).toBe(true);
    }
    // Every file in the repository belongs to a kept point, and every kept point's file is there.
    const files = (await filesUnder(path.join(server.dataDir, "repository"))).sort();
    expect(files).toEqual(kept.map((j) => j.disks[0].targetPath).sort());
    // Pruned jobs stay in the history, marked.
    const marked = await db.query<{ id: string }>(
      `SELECT id FROM backup_jobs WHERE pruned_at IS NOT NULL ORDER BY created_at`,
    );
    expect(marked.rows.map((r) => r.id)).toEqual(jobs.slice(0, 4).map((j) => j.id));
    // And the next incremental builds on what is left.
    await touch(source, 8);
    const snapshot = path.join(server.dataDir, "snapshot-8.img");
    await copyFile(source, snapshot);
    const eighth = await runNow(server, id);
    expect(eighth.type).toBe("incremental");
    expect(await imagesIdentical(snapshot, "raw", eighth.disks[0].targetPath)).toBe(true);
  });

  const after = "prunes after each policy run by itself, audited as policy.prune by the policy";
  it(after, { timeout: 180_000 }, async () => {
    const server = await fleet.start({ NBDHUB_DEMO_SOURCES: "0" }, { ports: 4 });
    const source = path.join(server.dataDir, "sources", "a.img");
    await makeImage(source, { sizeMiB: 8, randomMiB: 1 });
    const created = await server.api<{ id: string }>("POST", "/policies", {
      name: "keep-one",
      vmName: "auto-vm",
      disks: [{ diskId: "d0", source: "a.img" }],
      schedule: "0 0 1 1 *",
      fullEvery: 1,
      retention: { keepLast: 1 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const first = await runNow(server, created.body.id);
    const second = await runNow(server, created.body.id);
    expect([first.status, second.status]).toEqual(["completed", "completed"]);
    const db = await fleet.client(server);
    await waitFor(
      async () => {
        const r = await db.query(`SELECT 1 FROM backup_jobs WHERE id = $1 AND pruned_at IS NOT NULL`, [first.id]);
        return r.rowCount ? true : undefined;
      },
      { timeoutMs: 30_000, what: "the first point to be pruned after the second run" },
    );
    expect(await filesUnder(path.join(server.dataDir, "repository"))).toEqual([second.disks[0].targetPath]);
    type AuditRow = { actor: string; action: string; details: { removed?: string[] } };
    // The audit row is written once the prune is done (just after the point is marked).
    const row = await waitFor(
      async () => {
        const audit = await server.api<{ items: AuditRow[] }>("GET", "/audit?action=policy.prune");
        return audit.body.items.find((i) => i.actor === "policy:keep-one");
      },
      { timeoutMs: 15_000, what: "the policy.prune audit row of policy:keep-one" },
    );
    expect(row?.details.removed).toEqual([first.id]);
  });
});
