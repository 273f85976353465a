// Issue 19's remaining paths, on the real server with real qemu-nbd and nbdkit: an external job's
// stall cleared by a progress report, a retry after the export crashed mid-copy, and a retry
// after a failed verification (a verification failure is retried as a copy failure:
// docs/decisions/015-stalls-limits-retries.md).
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images";
import { slowSource, startNbdkit } from "../helpers/nbdkit";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import {
  ended,
  expectNothingLeft,
  expectSameContent,
  jobOf,
  stallEnv,
  until,
  type StallDisk,
  type StallJob,
} from "../helpers/stall-jobs";

type Job = StallJob;

const STALL = 2;
const STALL_FAIL = 8;
const fleet = new ServerFleet("stallretry");
afterAll(() => fleet.end());

let shared: TestServer | undefined;
const server = async () => (shared ??= await fleet.start(stallEnv(STALL, STALL_FAIL), { ports: 3 }));

const job = jobOf;

describe("an external job's stall", () => {
  it("is shown after the stall time of silence and cleared by a progress report; the job completes", async () => {
    const s = await server();
    const size = 1024 * 1024;
    const r = await s.api<Job>("POST", "/backups", {
      vmName: "ext-stall",
      type: "full",
      mover: "external",
      disks: [{ diskId: "d0", sizeBytes: size }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const id = r.body.id;
    const stalled = await until(
      s,
      id,
      (j) => j.disks[0].stalledSince !== null || ended(j),
      (STALL + 5) * 1000,
      "the silent client's disk to show stalled",
    );
    expect(stalled.status).toBe("running");
    expect((stalled.events ?? []).map((e) => e.kind)).toContain("job.stalled");

    const report = await s.api<StallDisk>("POST", `/backups/${id}/disks/d0/progress`, { transferredBytes: size / 2 });
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    const cleared = await job(s, id);
    expect(cleared.status).toBe("running");
    expect(cleared.disks[0].stalledSince).toBeNull();

    expect((await s.api("POST", `/backups/${id}/disks/d0/progress`, { transferredBytes: size })).status).toBe(200);
    const done = await s.api<Job>("POST", `/backups/${id}/complete`, { disks: [{ diskId: "d0" }] });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.status, done.body.error ?? "").toBe("completed");
    await expectNothingLeft(s);
  });
});

describe("retries", () => {
  it("kill -9 of the export mid-copy with retries 1: the disk is copied again on a new export and completes", async () => {
    const s = await server();
    // 16 MiB at 16 Mbit/s: ~8 s per attempt, time to strike mid-copy.
    const source = await fleet.source(slowSource("16M", "16M"));
    const twin = await fleet.source(startNbdkit(["pattern", "size=16M"]));
    const r = await s.api<Job>("POST", "/backups", {
      vmName: "export-crash",
      type: "full",
      retries: 1,
      disks: [{ source: source.uri }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const id = r.body.id;
    const copying = await until(
      s,
      id,
      (j) => (j.disks[0].transferredBytes > 0 && j.disks[0].pid !== null) || ended(j),
      30_000,
      "the copy to move",
    );
    expect(copying.status).toBe("running");
    const firstExport = copying.disks[0].pid!;
    expect((await execa("cat", [`/proc/${firstExport}/comm`])).stdout).toBe("qemu-nbd");
    process.kill(firstExport, "SIGKILL");

    const again = await until(
      s,
      id,
      (j) => (j.disks[0].attempt === 2 && j.disks[0].pid !== null && j.disks[0].pid !== firstExport) || ended(j),
      30_000,
      "a second attempt on a new export",
    );
    expect(again.status, again.error ?? "").toBe("running");
    const retrying = (again.events ?? []).find((e) => e.kind === "disk.retrying");
    expect(retrying?.message).toMatch(/^disk disk0: attempt 2 of 2 in \d+ s after: /);

    const done = await until(s, id, ended, 60_000, "the job to end");
    expect(done.status, done.error ?? "").toBe("completed");
    expect(done.disks[0].attempt).toBe(2);
    await expectSameContent(twin.uri, done.disks[0].targetPath);
    await expectNothingLeft(s);
  });

  it.each(["verify-once.img", "verify-once.qcow2"])(
    "a verification that fails once, with retries 1: copied again, verified, completed (%s)",
    async (source) => {
      // A mover that damages the target after its first copy only (the marker says it did).
      const real = (await execa("sh", ["-c", "command -v nbdcopy"])).stdout.trim();
      const bin = await mkdtemp(path.join(os.tmpdir(), "nbdhub-bad-once-"));
      const marker = path.join(bin, "harmed");
      const script = `#!/bin/sh
${real} "$@" || exit $?
[ -e "${marker}" ] && exit 0
: > "${marker}"
for last in "$@"; do cur="$last"; done
qemu-io -f raw -c 'write -P 0x5a 1M 64k' "$cur" >/dev/null || exit 70
`;
      await writeFile(path.join(bin, "nbdcopy"), script);
      await chmod(path.join(bin, "nbdcopy"), 0o755);
      await chmod(bin, 0o755);
      const s = await fleet.start({ ...stallEnv(STALL, STALL_FAIL), PATH: `${bin}:${process.env.PATH}` }, { ports: 2 });
      // A qcow2 source: the first attempt added the job's dirty bitmap, which the retry finds there.
      const format = source.endsWith(".qcow2") ? "qcow2" : "raw";
      await makeImage(path.join(s.dataDir, "sources", source), { sizeMiB: 8, randomMiB: 4, format });

      const r = await s.api<Job>("POST", "/backups", {
        vmName: "verify-once",
        type: "full",
        retries: 1,
        disks: [{ source }],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const done = await until(s, r.body.id, ended, 90_000, "the job to end");
      expect(done.status, done.error ?? "").toBe("completed");
      expect(done.disks[0]).toMatchObject({ attempt: 2, verified: true });
      const retrying = (done.events ?? []).filter((e) => e.kind === "disk.retrying");
      expect(retrying).toHaveLength(1);
      expect(retrying[0].message).toMatch(/^disk disk0: attempt 2 of 2 in \d+ s after: .*verification failed/);
      await expectNothingLeft(s);
    },
  );
});
