// Job-lifecycle races (issue 11, items 15 and 16), against the real server: admission reserves
// the ports a job needs, so two jobs admitted at once never count the same free ports; and
// every ending claims the job first, so complete racing cancel or fail ends one way only.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processesOf } from "../helpers/processes";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor, withDeadline } from "../helpers/wait";

type Disk = {
  diskId: string;
  status: string;
  targetPath: string;
  port: number | null;
  nbdUri: string | null;
  verified: boolean;
  verification: string | null;
};
type Job = { id: string; status: string; error: string | null; disks: Disk[]; events?: { kind: string }[] };
type Failure = { error: { code: string; message: string } };
type Ports = { allocated: number; allocations: { port: number; jobId: string }[] };

const MiB = 1024 * 1024;
/** Tests that run several backups one after the other. */
const SLOW = { timeout: 240_000 };
const fleet = new ServerFleet("races");
let server: TestServer;

beforeAll(async () => {
  server = await fleet.start({}, { ports: 3 });
}, 120_000);

afterAll(() => fleet.end());

async function job(id: string): Promise<Job> {
  return (await server.api<Job>("GET", `/backups/${id}`)).body;
}

async function expectNothingHeld() {
  const free = async () => (await server.api<Ports>("GET", "/nbd/ports")).body.allocated === 0;
  await waitFor(free, { timeoutMs: 10_000, what: "every port to be released" });
  expect((await server.api<{ count: number }>("GET", "/nbd/qemu-nbd")).body.count).toBe(0);
  expect(await processesOf(path.join(server.dataDir, "run"))).toEqual([]);
}

const failJob = (id: string) => server.api<Job & Failure>("POST", `/backups/${id}/fail`, { message: "client gave up" });

const external = (vmName: string, disks: number, sizeBytes = MiB) => ({
  vmName,
  type: "full",
  mover: "external",
  disks: Array.from({ length: disks }, (_, i) => ({ diskId: `d${i}`, sizeBytes })),
});

describe("admission reserves ports (item 15)", () => {
  it("two jobs admitted in one pass do not share free ports: the second waits, queued, then runs", async () => {
    // The whole pool (3 ports) is held by someone else; two jobs of two disks queue.
    const other = { jobId: "other", vmName: "other", exportName: "other" };
    const held = await Promise.all([1, 2, 3].map(() => server.api("POST", "/nbd/ports/allocate", other)));
    expect(held.map((h) => h.status)).toEqual([201, 201, 201]);
    const a = await server.api<Job>("POST", "/backups", external("first", 2));
    const b = await server.api<Job>("POST", "/backups", external("second", 2));
    expect([a.body.status, b.body.status]).toEqual(["queued", "queued"]);

    // Three ports come free at once: one pass of the queue sees them both.
    expect((await server.api("POST", "/nbd/ports/release", { jobId: "other" })).status).toBe(200);
    const first = await waitFor(
      async () => {
        const j = await job(a.body.id);
        return j.status === "running" && j.disks.every((d) => d.nbdUri) ? j : undefined;
      },
      { timeoutMs: 20_000, what: "the first job's exports to be ready" },
    );
    // Before the fix both were admitted on the same three free ports, and each waited for the
    // ports the other held (the second one "running" with a disk that never got an export).
    const second = await job(b.body.id);
    expect(second.status, "the second job must wait for ports the first one reserved").toBe("queued");
    const ports = await server.api<Ports>("GET", "/nbd/ports");
    expect(ports.body.allocations.filter((x) => x.jobId === b.body.id)).toEqual([]);
    expect(new Set(first.disks.map((d) => d.port)).size).toBe(2);

    // The first one ends: the second gets its ports and its exports.
    expect((await failJob(a.body.id)).status).toBe(200);
    await waitFor(
      async () => {
        const j = await job(b.body.id);
        return j.status === "running" && j.disks.every((d) => d.nbdUri);
      },
      { timeoutMs: 20_000, what: "the second job's exports to be ready" },
    );
    expect((await failJob(b.body.id)).status).toBe(200);
    await expectNothingHeld();
  });

  it("POST /backups of external jobs answers promptly, exports ready or queued, several at once", async () => {
    const posts = await withDeadline(
      Promise.all(["p1", "p2", "p3"].map((vm) => server.api<Job>("POST", "/backups", external(vm, 2)))),
      20_000,
      "three POST /backups to answer",
    );
    const running = posts.filter((p) => p.body.status === "running");
    for (const p of posts) {
      expect(p.status).toBe(202);
      expect(["running", "queued"]).toContain(p.body.status);
      if (p.body.status === "running") expect(p.body.disks.every((d) => d.nbdUri && d.port)).toBe(true);
    }
    // Three ports, two per job: exactly one runs, on ports of its own.
    expect(running).toHaveLength(1);
    for (const p of posts) expect((await failJob(p.body.id)).status).toBe(200);
    await expectNothingHeld();
  });
});

describe("an external job the pool can never serve", () => {
  it("more disks than the pool has ports is refused at once (409 port_pool_too_small), creating nothing", async () => {
    const before = (await server.api<{ items: unknown[] }>("GET", "/backups?limit=200")).body.items.length;
    const r = await server.api<Failure>("POST", "/backups", external("toobig", 4));
    expect(r.status, JSON.stringify(r.body)).toBe(409);
    expect(r.body.error.code).toBe("port_pool_too_small");
    expect((await server.api<{ items: unknown[] }>("GET", "/backups?limit=200")).body.items).toHaveLength(before);
    await expectNothingHeld();
  });
});

describe("one ending per job (item 16)", () => {
  const rounds = 8;
  const cancelJob = (id: string) => server.api<Job & Failure>("POST", `/backups/${id}/cancel`);
  const rivals = [
    ["cancel", cancelJob, "cancelled"],
    ["fail", failJob, "failed"],
  ] as const;
  for (const [name, rival, status] of rivals) {
    it(`complete racing ${name}: one wins, the job ends consistently (${rounds} rounds)`, SLOW, async () => {
      const outcomes: string[] = [];
      for (let round = 0; round < rounds; round += 1) {
        const r = await server.api<Job>("POST", "/backups", external(`race-${name}-${round}`, 1));
        expect(r.body.status).toBe("running");
        const id = r.body.id;
        const reported = await server.api("POST", `/backups/${id}/disks/d0/progress`, { transferredBytes: MiB });
        expect(reported.status).toBe(200);
        const complete = server.api<Job & Failure>("POST", `/backups/${id}/complete`, { disks: [{ diskId: "d0" }] });
        const [completed, other] = await Promise.all([complete, rival(id)]);
        const final = await job(id);
        const target = final.disks[0].targetPath;
        const brief = (a: { status: number; body: unknown }) => `${a.status} ${JSON.stringify(a.body).slice(0, 200)}`;
        const said = `round ${round}: complete ${brief(completed)}, ${name} ${brief(other)}`;
        // Exactly one ending answered as the winner, the other 409 (job_ending or job_finished).
        const completeWon = completed.status === 200;
        const rivalWon = other.status === (name === "cancel" ? 202 : 200);
        expect(completeWon !== rivalWon, said).toBe(true);
        const loser = completeWon ? other : completed;
        expect(loser.status, said).toBe(409);
        expect(["job_ending", "job_finished"], said).toContain(loser.body.error.code);
        if (completeWon) {
          expect(final.status, said).toBe("completed");
          expect(existsSync(target), `${said}: a completed backup's target must exist`).toBe(true);
          expect(final.disks[0].status).toBe("completed");
          expect(final.disks[0].verification).toMatch(/qemu-img check passed/);
        } else {
          expect(final.status, said).toBe(status);
          expect(existsSync(target), `${said}: a ${status} job must leave no target`).toBe(false);
          expect(final.disks[0].status).not.toBe("completed");
        }
        const endings = (final.events ?? []).filter((e) => /^job\.(completed|failed|cancelled)$/.test(e.kind));
        expect(
          endings.map((e) => e.kind),
          said,
        ).toEqual([`job.${final.status}`]);
        outcomes.push(final.status);
        await expectNothingHeld();
      }
      // Informative only: which side won how often.
      console.log(`complete vs ${name}: ${outcomes.join(", ")}`);
    });
  }
});
