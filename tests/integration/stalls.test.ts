// Jobs that stop moving (issue 19): a stopped mover or export qemu-nbd shows "stalled" and then
// fails the job with the reason, killing the stopped processes; a slow copy that still moves is
// never stalled; a failed copy is retried (retries), and a job past its time limit fails.
import { existsSync, writeFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { slowSource, startNbdkit, throttledSource } from "../helpers/nbdkit";
import { processesOf } from "../helpers/processes";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import {
  ended,
  expectNothingLeft,
  expectSameContent,
  jobOf,
  stallEnv,
  until,
  type StallJob,
} from "../helpers/stall-jobs";
import { waitFor } from "../helpers/wait";

type Job = StallJob;

const STALL = 2;
const STALL_FAIL = 5;
const fleet = new ServerFleet("stalls");
afterAll(() => fleet.end());

let shared: TestServer | undefined;
async function server(): Promise<TestServer> {
  shared ??= await fleet.start(stallEnv(STALL, STALL_FAIL), { ports: 4 });
  return shared;
}

const job = jobOf;

/** The job's nbdcopy, once it runs. */
async function moverOf(s: TestServer): Promise<number> {
  return waitFor(
    async () => {
      const found = await processesOf(path.join(s.dataDir, "run"));
      return found.find((p) => p.comm === "nbdcopy")?.pid;
    },
    { timeoutMs: 20_000, what: "the job's nbdcopy" },
  );
}

describe("stalled copies", () => {
  for (const victim of ["mover", "export"] as const) {
    it(
      `kill -STOP of the ${victim} mid-copy: stalled within the stall time, failed by the fail time`,
      {
        timeout: 90_000,
      },
      async () => {
        const s = await server();
        // Fast enough that a stopped export drains nbdcopy's requests in flight within a second or
        // two, long enough (2 GiB) never to complete during the test.
        const source = await fleet.source(slowSource("2G", "48M"));
        const r = await s.api<Job>("POST", "/backups", {
          vmName: `stop-${victim}`,
          type: "full",
          disks: [{ source: source.uri }],
        });
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        const id = r.body.id;
        const mover = await moverOf(s);
        const copying = await until(s, id, (j) => j.disks[0].transferredBytes > 0, 30_000, "progress");
        const pid = victim === "mover" ? mover : copying.disks[0].pid!;
        expect(pid).toBeGreaterThan(0);
        process.kill(pid, "SIGSTOP");
        const stoppedAt = Date.now();

        const stalled = await until(
          s,
          id,
          (j) => j.disks[0].stalledSince !== null || ended(j),
          (STALL + 5) * 1000,
          "stalled",
        );
        expect(stalled.status).toBe("running");
        expect(Date.parse(stalled.disks[0].stalledSince!)).toBeLessThanOrEqual(Date.now());

        const failed = await until(s, id, ended, (STALL_FAIL + 5) * 1000 - (Date.now() - stoppedAt), "failed");
        expect(failed.status).toBe("failed");
        expect(failed.error).toMatch(new RegExp(`^disk disk0: no progress for \\d+ s \\(mover pid ${mover}\\)$`));
        expect(failed.disks[0].stalledSince).toBeNull();
        expect(existsSync(failed.disks[0].targetPath)).toBe(false);
        expect((failed.events ?? []).map((e) => e.kind)).toContain("disk.stalled");
        await expectNothingLeft(s);
      },
    );
  }

  it("a slow copy that moves in big steps is never stalled", { timeout: 90_000 }, async () => {
    const s = await server();
    // Zeroes read slowly: nbdcopy writes nothing (the target is known to be zero) and its
    // progress moves by 1 % = 20 MiB, every ~5 s at 32 Mbit/s (4 MiB/s): longer than the fail
    // time, so only the mover's own activity (a reply every ~60 ms) shows it moving. (At 4 Mbit/s
    // a reply came every 0.5 s, and one gap of the 2 s stall time on a loaded machine failed it.)
    const source = await fleet.source(startNbdkit(["null", "size=2G", "rate=32M"], ["rate", "noextents"]));
    const r = await s.api<Job>("POST", "/backups", {
      vmName: "slow-zeroes",
      type: "full",
      disks: [{ source: source.uri }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    try {
      await moverOf(s);
      await until(s, r.body.id, (j) => j.disks[0].status === "transferring", 20_000, "transferring");
      const watchUntil = Date.now() + (STALL_FAIL * 2 + 2) * 1000;
      while (Date.now() < watchUntil) {
        const j = await job(s, r.body.id);
        expect(j.status, j.error ?? "").toBe("running");
        expect(j.disks[0].stalledSince).toBeNull();
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } finally {
      // Ended however the test went: a job left running would hold a port for the next tests.
      await s.api<Job>("POST", `/backups/${r.body.id}/cancel`);
    }
    const after = await job(s, r.body.id);
    expect(after.status, after.error ?? "").toBe("cancelled");
    const events = after.events ?? [];
    expect(
      events.map((e) => e.kind),
      JSON.stringify(events),
    ).not.toContain("disk.stalled");
    await expectNothingLeft(s);
  });

  it("an incremental (content diff) from a slow NBD source is never stalled", { timeout: 90_000 }, async () => {
    const s = await server();
    // The engine's progress moves when a request completes: 4 MiB reads from a source at 8 Mbit/s
    // took 4 s each, past the 2 s stall time (long campaign seed 1791164394); 256 KiB take 0.25 s.
    const source = await fleet.source(throttledSource("8M", "1G"));
    const full = await s.api<Job>("POST", "/backups", {
      vmName: "slow-diff",
      type: "full",
      disks: [{ source: source.uri }],
    });
    expect(full.status, JSON.stringify(full.body)).toBe(202);
    expect((await until(s, full.body.id, ended, 30_000, "the full to end")).status).toBe("completed");
    await source.setRate("8M");
    const r = await s.api<Job>("POST", "/backups", {
      vmName: "slow-diff",
      type: "incremental",
      disks: [{ source: source.uri }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    try {
      const done = await until(s, r.body.id, ended, 60_000, "the incremental to end");
      expect(done.status, done.error ?? "").toBe("completed");
      const kinds = (done.events ?? []).map((e) => e.kind);
      expect(kinds, JSON.stringify(done.events)).toContain("disk.transferring");
      expect(kinds, JSON.stringify(done.events)).not.toContain("disk.stalled");
    } finally {
      await s.api<Job>("POST", `/backups/${r.body.id}/cancel`);
    }
    await expectNothingLeft(s);
  });
});

describe("retries and time limits", () => {
  /**
   * 4 MiB of pattern whose reads fail with EIO while `trigger` exists (the hub's checks of an NBD
   * source read no data, so the trigger is made before the POST). No delay filter: with it,
   * nbdcopy hung up while replies were still delayed (see startNbdkit's one thread).
   */
  async function failingSource(trigger: string) {
    writeFileSync(trigger, "");
    const args = ["pattern", "size=4M", "error=EIO", "error-pread-rate=100%", `error-pread-file=${trigger}`];
    return fleet.source(startNbdkit(args, ["error"]));
  }

  it(
    "a source that fails its first reads: with retries 1 the job completes and the target holds the source",
    {
      timeout: 90_000,
    },
    async () => {
      const s = await server();
      const scratch = await mkdtemp(path.join(os.tmpdir(), "nbdhub-retry-"));
      const trigger = path.join(scratch, "fail");
      const source = await failingSource(trigger);
      const r = await s.api<Job>("POST", "/backups", {
        vmName: "retry1",
        type: "full",
        retries: 1,
        disks: [{ source: source.uri }],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      expect(r.body.retries).toBe(1);
      const retrying = await until(
        s,
        r.body.id,
        (j) => (j.events ?? []).some((e) => e.kind === "disk.retrying") || ended(j),
        30_000,
        "a retry",
      );
      rmSync(trigger);
      expect(retrying.status).toBe("running");
      const event = retrying.events!.find((e) => e.kind === "disk.retrying")!;
      expect(event.message).toMatch(
        /^disk disk0: attempt 2 of 2 in 2 s after: the mover \(nbdcopy\) exited with code 1: .*Input\/output error/,
      );
      const done = await until(s, r.body.id, ended, 60_000, "the job to end");
      expect(done.status, done.error ?? "").toBe("completed");
      expect(done.disks[0].attempt).toBe(2);
      await expectSameContent(source.uri, done.disks[0].targetPath);
      await expectNothingLeft(s);
    },
  );

  it("the same source with retries 0: the job fails naming the source's error", { timeout: 60_000 }, async () => {
    const s = await server();
    const scratch = await mkdtemp(path.join(os.tmpdir(), "nbdhub-retry-"));
    const trigger = path.join(scratch, "fail");
    const source = await failingSource(trigger);
    const r = await s.api<Job>("POST", "/backups", { vmName: "retry0", type: "full", disks: [{ source: source.uri }] });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const done = await until(s, r.body.id, ended, 30_000, "the job to end");
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/^disk disk0: the mover \(nbdcopy\) exited with code 1: .*Input\/output error/);
    expect((done.events ?? []).map((e) => e.kind)).not.toContain("disk.retrying");
    await expectNothingLeft(s);
  });

  it("cancel during the backoff ends the job at once, without another attempt", { timeout: 60_000 }, async () => {
    const s = await server();
    const scratch = await mkdtemp(path.join(os.tmpdir(), "nbdhub-retry-"));
    const trigger = path.join(scratch, "fail");
    const source = await failingSource(trigger);
    const r = await s.api<Job>("POST", "/backups", {
      vmName: "retry-cancel",
      type: "full",
      retries: 5,
      disks: [{ source: source.uri }],
    });
    await until(
      s,
      r.body.id,
      (j) => (j.events ?? []).some((e) => e.kind === "disk.retrying") || ended(j),
      30_000,
      "a retry",
    );
    const began = Date.now();
    const cancelled = await s.api<Job>("POST", `/backups/${r.body.id}/cancel`);
    expect(cancelled.body.status).toBe("cancelled");
    expect(Date.now() - began).toBeLessThan(1500);
    const after = await job(s, r.body.id);
    expect(after.events!.filter((e) => e.kind === "disk.retrying")).toHaveLength(1);
    await expectNothingLeft(s);
  });

  it("a job past its maxRunSeconds fails (not cancelled) and gives everything back", { timeout: 60_000 }, async () => {
    const s = await server();
    const source = await fleet.source(slowSource("1G", "8M"));
    const r = await s.api<Job>("POST", "/backups", {
      vmName: "limited",
      type: "full",
      maxRunSeconds: 3,
      disks: [{ source: source.uri }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const done = await until(s, r.body.id, ended, 15_000, "the job to end");
    expect(done.status).toBe("failed");
    expect(done.error).toBe("ran past its time limit of 3 s");
    await expectNothingLeft(s);
  });

  it("refuses a bad maxRunSeconds or retries, and retries on an external job, creating nothing", async () => {
    const s = await server();
    const before = (await s.api<{ items: unknown[] }>("GET", "/backups")).body.items.length;
    const bodies = [
      { vmName: "bad", type: "full", maxRunSeconds: 0, disks: [{ source: "nbd://127.0.0.1:1" }] },
      { vmName: "bad", type: "full", retries: 11, disks: [{ source: "nbd://127.0.0.1:1" }] },
      { vmName: "bad", type: "full", mover: "external", retries: 1, disks: [{ sizeBytes: 1048576 }] },
    ];
    for (const body of bodies) {
      const r = await s.api<{ error: { code: string; details: Record<string, string> } }>("POST", "/backups", body);
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe("validation_failed");
    }
    expect((await s.api<{ items: unknown[] }>("GET", "/backups")).body.items.length).toBe(before);
  });
});
