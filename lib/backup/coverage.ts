// What an external backup client must have reported before it may complete (issue 11,
// item 3): the hub cannot read the client's source, so the reported bytes must at least
// cover each disk. Pure, so it is unit-tested.
import { conflict, type DomainError } from "@/lib/errors";

export type ReportedDisk = { diskId: string; totalBytes: bigint | number; transferredBytes: bigint | number };

/** The disks whose reported bytes do not reach their size, with what was reported. */
export function uncovered(disks: ReportedDisk[]): { diskId: string; reported: number; size: number }[] {
  return disks
    .map((d) => ({ diskId: d.diskId, reported: Number(d.transferredBytes), size: Number(d.totalBytes) }))
    .filter((d) => d.reported < d.size);
}

/** 409 incomplete_transfer naming each short disk; the job keeps running so the client can go on. */
export function incompleteTransfer(jobId: string, short: ReturnType<typeof uncovered>): DomainError {
  const list = short.map((d) => `${d.diskId} (${d.reported} of ${d.size} bytes)`).join(", ");
  return conflict(
    "incomplete_transfer",
    `job ${jobId} cannot complete: the backup client reported fewer bytes than the disk holds for ${list}; ` +
      "report progress up to each disk's size, then complete again (or fail the job); the job keeps running",
    { disks: Object.fromEntries(short.map((d) => [d.diskId, `${d.reported} of ${d.size} bytes reported`])) },
  );
}
