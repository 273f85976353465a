// The response schemas in lib/api/schemas are what the console's types come from (and, later,
// the OpenAPI document). Here each serializer's answer, built from rows made by hand, parses
// through its schema unchanged: no field missing, none extra (a plain z.object would drop it),
// every status, time and size of the kind the schema says.
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { backupJobDetailSchema, backupJobSchema, jobEventSchema } from "@/lib/api/schemas/backups";
import { exportSchema } from "@/lib/api/schemas/nbd";
import { eventView, jobView } from "@/lib/backup/serialize";
import type { BackupDisk, BackupJob, JobEvent, NbdExport } from "@/lib/generated/prisma/client";
import { toExportInfo } from "@/lib/nbd/export-rows";

/** A time on 2026-03-01, minutes and seconds after 10:00 UTC ("01:02" is 10:01:02). */
const at = (mmss: string) => new Date(`2026-03-01T10:${mmss}.000Z`);

function jobRow(over: Partial<BackupJob> = {}): BackupJob {
  return {
    id: "job-1",
    node: "hub-1",
    vmName: "web-1",
    type: "full",
    mover: "builtin",
    status: "completed",
    createdAt: at("00:00"),
    startedAt: at("00:01"),
    finishedAt: at("01:01"),
    lastActivityAt: at("01:01"),
    requestedBy: "admin",
    cancelledBy: null,
    error: null,
    totalBytes: 3n * 2n ** 30n,
    transferredBytes: 3n * 2n ** 30n,
    verified: true,
    verification: "compared with the source",
    ending: null,
    endingAt: null,
    maxRunSeconds: null,
    retries: 0,
    policyId: null,
    prunedAt: null,
    ...over,
  };
}

function diskRow(over: Partial<BackupDisk> = {}): BackupDisk {
  return {
    jobId: "job-1",
    diskId: "disk0",
    position: 0,
    source: "vm/web-1.qcow2",
    sourceFormat: "qcow2",
    targetPath: "/repo/web-1/job-1/disk0.qcow2",
    backingPath: null,
    port: 10809,
    exportName: "web-1-disk0",
    nbdUri: "nbd://127.0.0.1:10809/web-1-disk0",
    pid: 4242,
    status: "completed",
    totalBytes: 3n * 2n ** 30n,
    transferredBytes: 3n * 2n ** 30n,
    bytesPerSecond: 51_234_567.8,
    etaSeconds: 0,
    actualSize: 2n ** 30n,
    changeId: null,
    stalledSince: null,
    attempt: 1,
    copyMode: "full",
    copyReason: "the first backup of this disk",
    backingJobId: null,
    changedBytes: null,
    dirtyBitmap: null,
    sourceBitmap: null,
    progressDoneBytes: null,
    progressTotalBytes: null,
    error: null,
    startedAt: at("00:01"),
    finishedAt: at("01:01"),
    verified: true,
    verification: "compared with the source",
    ...over,
  };
}

function eventRow(over: Partial<JobEvent> = {}): JobEvent {
  const where = { id: 7n, jobId: "job-1", diskId: "disk0", at: at("00:30") };
  return { ...where, level: "info", kind: "progress", message: "half of disk0 copied", ...over };
}

/** The answer parses, and parsing changes nothing (no field dropped, none coerced). */
function expectDescribed<S extends z.ZodType>(schema: S, answer: unknown) {
  const parsed = schema.safeParse(answer);
  expect(parsed.error?.issues ?? []).toEqual([]);
  expect(parsed.data).toEqual(answer);
}

describe("the serializers' answers match their response schemas", () => {
  it("a completed job with its disks (BackupJob)", () => {
    const second = diskRow({ diskId: "disk1", position: 1, sourceFormat: "raw" });
    const job = jobView({ ...jobRow(), disks: [diskRow(), second] });
    expectDescribed(backupJobSchema, job);
    expect(job.disks.map((d) => d.diskId)).toEqual(["disk0", "disk1"]);
    expect(Number.isInteger(job.disks[0].bytesPerSecond)).toBe(true);
  });

  it("a queued job, nothing started yet, with a disk of a row from before formats were recorded", () => {
    const disk = diskRow({
      status: "pending",
      sourceFormat: null,
      targetPath: null,
      port: null,
      exportName: null,
      nbdUri: null,
      pid: null,
      transferredBytes: 0n,
      bytesPerSecond: 0,
      etaSeconds: null,
      actualSize: null,
      startedAt: null,
      finishedAt: null,
      verified: false,
      verification: null,
    });
    const job = jobView({
      ...jobRow({ status: "queued", startedAt: null, finishedAt: null, transferredBytes: 0n, verified: false }),
      verification: null,
      disks: [disk],
    });
    expectDescribed(backupJobSchema, job);
    expect(job.durationSeconds).toBeNull();
    expect(job.bytesPerSecond).toBeNull();
  });

  it("a job with its event log (GET /backups/{id}) and one event (JobEvent)", () => {
    const failed = eventRow({ id: 8n, level: "error", diskId: null, kind: "failed" });
    const events = [eventView(eventRow()), eventView(failed)];
    for (const event of events) expectDescribed(jobEventSchema, event);
    expectDescribed(backupJobDetailSchema, { ...jobView({ ...jobRow(), disks: [diskRow()] }), events });
  });

  it("a running export and a crashed one (Export)", () => {
    const row: NbdExport = {
      id: "exp-1",
      node: "hub-1",
      port: 10809,
      exportName: "web-1-disk0",
      filePath: "/repo/web-1/job-1/disk0.qcow2",
      readOnly: false,
      ownerKind: "backup",
      tls: false,
      hubOnly: false,
      jobId: "job-1",
      vmName: "web-1",
      diskId: "disk0",
      pid: 4242,
      pidStartTime: 123456n,
      pidFile: "/run/nbdhub/10809.pid",
      status: "ready",
      exitCode: null,
      exitSignal: null,
      error: null,
      stderrTail: null,
      startedAt: at("00:01"),
      readyAt: at("00:02"),
      stoppedAt: null,
    };
    const now = at("01:02").getTime();
    const running = toExportInfo(row, "127.0.0.1", now);
    expectDescribed(exportSchema, running);
    expect(running.uptimeSeconds).toBe(60);
    const ended = { status: "crashed", pid: null, exitCode: 1, error: "qemu-nbd exited", stoppedAt: at("00:05") };
    const crashed = { ...row, ...ended };
    expectDescribed(exportSchema, toExportInfo(crashed, "127.0.0.1", now));
  });

  it("a status the schema does not know is refused (the enums are precise)", () => {
    const job = jobView({ ...jobRow({ status: "paused" }), disks: [] });
    expect(backupJobSchema.safeParse(job).success).toBe(false);
  });
});
