// Pure rules of issue 11, item 3: what an external client must have reported before it may
// complete, and how a job's verification follows from its disks'.
import { describe, expect, it } from "vitest";
import { incompleteTransfer, uncovered } from "@/lib/backup/coverage";
import { verificationOf } from "@/lib/backup/disk-task";
import { jobVerification } from "@/lib/backup/finish";

describe("reported bytes must cover each disk", () => {
  it("lists the disks whose reports fall short, and only those", () => {
    const disks = [
      { diskId: "a", totalBytes: BigInt(1024), transferredBytes: BigInt(1024) },
      { diskId: "b", totalBytes: BigInt(2048), transferredBytes: BigInt(0) },
      { diskId: "c", totalBytes: 4096, transferredBytes: 4095 },
    ];
    expect(uncovered(disks)).toEqual([
      { diskId: "b", reported: 0, size: 2048 },
      { diskId: "c", reported: 4095, size: 4096 },
    ]);
    const error = incompleteTransfer("job-1", uncovered(disks));
    const details = { disks: { b: "0 of 2048 bytes reported", c: "4095 of 4096 bytes reported" } };
    expect(error).toMatchObject({ kind: "conflict", code: "incomplete_transfer", details });
    expect(error.message).toMatch(/the job keeps running/);
  });
});

describe("verification", () => {
  it("a file source is compared; an NBD source and an external client are only checked", () => {
    const disk = { source: "disk.img", backingPath: null, totalBytes: BigInt(8) };
    const file = { kind: "file", source: "disk.img", path: "/s/disk.img", format: "raw", virtualSize: 8 } as const;
    const nbd = { kind: "nbd", source: "nbd://h/x", uri: "nbd://h/x", format: "raw", virtualSize: 8 } as const;
    expect(verificationOf(file, disk).verified).toBe(true);
    expect(verificationOf(nbd, disk)).toMatchObject({
      verified: false,
      verification: expect.stringMatching(/not compared/),
    });
    const external = verificationOf(null, disk);
    expect(external).toMatchObject({ verified: false, verification: expect.stringMatching(/reported all 8 /) });
  });

  it("a job is verified only when every disk is", () => {
    expect(jobVerification([{ verified: true }, { verified: true }]).verified).toBe(true);
    const some = jobVerification([{ verified: true }, { verified: false }]);
    expect(some).toMatchObject({ verified: false, verification: expect.stringMatching(/^1 of 2 disks/) });
    const none = jobVerification([{ verified: false }]);
    expect(none).toMatchObject({ verified: false, verification: expect.stringMatching(/^no disk/) });
    expect(jobVerification([]).verified).toBe(false);
  });
});
