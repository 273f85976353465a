// The copy-mode decision for one disk of a backup: which facts lead to which mode, and the
// sentence the event log and the job page show.
import { describe, expect, it } from "vitest";
import { planCopy, type PlanInput } from "@/lib/backup/incremental/plan";
import { bitmapNameOf, isValidBitmapName, jobIdOfBitmap } from "@/lib/backup/incremental/bitmap-names";

const MiB = 1024 * 1024;
const previous = { jobId: "20250102-030405-abcdef", virtualSize: 512 * MiB, bitmap: "nbdhub-20250102-030405-abcdef" };
const qcow2 = { kind: "qcow2-file", virtualSize: 512 * MiB } as const;

function plan(input: Partial<PlanInput>) {
  return planCopy({ type: "incremental", source: qcow2, previous, ...input });
}

describe("planCopy", () => {
  it("copies everything when asked for a full backup or when there is no previous point", () => {
    expect(plan({ type: "full", bitmapCheck: { usable: true, granularity: 65536 } })).toEqual({
      mode: "full",
      reason: "full: a full backup was asked for",
    });
    expect(plan({ previous: null })).toEqual({ mode: "full", reason: "full: no previous backup of this disk" });
    expect(plan({ source: { kind: "raw-file", virtualSize: 1 }, previous: null }).mode).toBe("full");
  });

  it("uses the previous job's bitmap on a qcow2 file when the check found it good", () => {
    expect(plan({ bitmapCheck: { usable: true, granularity: 65536 } })).toEqual({
      mode: "changed-blocks",
      reason: "changed blocks since job 20250102-030405-abcdef (bitmap nbdhub-20250102-030405-abcdef)",
      bitmap: "nbdhub-20250102-030405-abcdef",
      backingJobId: "20250102-030405-abcdef",
    });
  });

  it("falls back to content diff with the check's reason when the bitmap cannot be trusted", () => {
    const reason =
      "bitmap nbdhub-20250102-030405-abcdef is missing on the source (deleted by hand or the source was replaced)";
    expect(plan({ bitmapCheck: { usable: false, problem: "missing", reason } })).toEqual({
      mode: "content-diff",
      reason: `content diff since job 20250102-030405-abcdef: ${reason}; every block was compared`,
      backingJobId: "20250102-030405-abcdef",
    });
    const why = "bitmap x was left inconsistent (in-use)";
    const inUse = plan({ bitmapCheck: { usable: false, problem: "in-use", reason: why } });
    expect(inUse.mode).toBe("content-diff");
    expect(inUse.reason).toContain("left inconsistent (in-use)");
  });

  it("never trusts a bitmap across a resize, even when the check said usable", () => {
    const bitmapCheck = { usable: true, granularity: 65536 } as const;
    const grown = plan({ source: { ...qcow2, virtualSize: 1024 * MiB }, bitmapCheck });
    expect(grown).toEqual({
      mode: "content-diff",
      reason:
        "content diff since job 20250102-030405-abcdef: the disk was resized since that backup " +
        "(512 MiB then, 1.00 GiB now); every block was compared",
      backingJobId: "20250102-030405-abcdef",
    });
  });

  it("uses content diff for a qcow2 file whose previous job left no bitmap", () => {
    expect(plan({ previous: { ...previous, bitmap: null } }).reason).toBe(
      "content diff since job 20250102-030405-abcdef: that job left no bitmap on the source; every block was compared",
    );
  });

  it("refuses to plan a qcow2 file with a previous bitmap that was not checked", () => {
    expect(() => plan({})).toThrow("check bitmap nbdhub-20250102-030405-abcdef of job 20250102-030405-abcdef");
  });

  it("uses content diff for raw files", () => {
    expect(plan({ source: { kind: "raw-file", virtualSize: 512 * MiB } })).toEqual({
      mode: "content-diff",
      reason:
        "content diff since job 20250102-030405-abcdef: a raw file keeps no dirty bitmap; every block was compared",
      backingJobId: "20250102-030405-abcdef",
    });
  });

  it("follows an NBD source's dirty bitmap when it is named, offered and the size held", () => {
    const nbd = { kind: "nbd", virtualSize: 512 * MiB, dirtyBitmap: "backup-3" } as const;
    expect(plan({ source: nbd })).toEqual({
      mode: "changed-blocks",
      reason: "changed blocks since job 20250102-030405-abcdef (the source's bitmap backup-3)",
      bitmap: "backup-3",
      backingJobId: "20250102-030405-abcdef",
    });
    expect(plan({ source: { ...nbd, dirtyBitmapOffered: true } }).mode).toBe("changed-blocks");
    expect(plan({ source: { ...nbd, dirtyBitmapOffered: false } }).reason).toBe(
      "content diff since job 20250102-030405-abcdef: the NBD source does not offer qemu:dirty-bitmap:backup-3; " +
        "every block was compared",
    );
    expect(plan({ source: { ...nbd, virtualSize: 256 * MiB } }).reason).toContain("resized since that backup");
    expect(plan({ source: { kind: "nbd", virtualSize: 512 * MiB } }).reason).toContain("names no dirty bitmap");
  });
});

describe("bitmap names", () => {
  it("names a job's bitmap after the job and reads the job back", () => {
    expect(bitmapNameOf("20250102-030405-abcdef")).toBe("nbdhub-20250102-030405-abcdef");
    expect(jobIdOfBitmap("nbdhub-20250102-030405-abcdef")).toBe("20250102-030405-abcdef");
    expect(jobIdOfBitmap("libvirt-checkpoint-1")).toBeNull();
    expect(jobIdOfBitmap("nbdhub-")).toBeNull();
  });

  it("accepts only names that are safe on a command line and in a meta context", () => {
    const bad = ["", "-f", "a b", "a,b", "a:b", "é", "x".repeat(128), "a/b"];
    for (const name of bad) expect(isValidBitmapName(name)).toBe(false);
    for (const good of ["b0", "nbdhub-1", "A.b_c-9", "x".repeat(127)]) expect(isValidBitmapName(good)).toBe(true);
    expect(() => bitmapNameOf("bad id")).toThrow(RangeError);
  });
});
