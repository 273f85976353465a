// How one disk of a job will be copied, from facts read now: the previous completed point of
// the same VM and disk, the bitmap its job left on a qcow2 source (checked with qemu-img), or
// the dirty bitmap an NBD source names. Planned at POST /backups (recorded, shown at once),
// and again when the disk's turn comes, since a bitmap may be gone or a newer point committed
// while the job waited (docs/decisions/010-incrementals.md).
import "server-only";
import { existsSync } from "node:fs";
import type { Db } from "@/lib/db/prisma";
import { checkBitmap, type BitmapCheck } from "./bitmaps";
import { planCopy, type CopyPlan, type SourceFacts } from "./incremental/plan";
import type { InspectedSource } from "./source";

export type PreviousPoint = {
  jobId: string;
  targetPath: string;
  /** The source's virtual size when that point was made. */
  virtualSize: number;
  /** The bitmap that job added to its qcow2 source, if any. */
  bitmap: string | null;
};

/** The last completed backup of this VM's disk whose target still exists. */
export async function previousPoint(db: Db, vmName: string, diskId: string): Promise<PreviousPoint | null> {
  const prev = await db.backupDisk.findFirst({
    where: {
      diskId,
      status: "completed",
      job: { vmName, status: "completed", prunedAt: null },
      targetPath: { not: null },
    },
    orderBy: { finishedAt: "desc" },
    select: { jobId: true, targetPath: true, totalBytes: true, sourceBitmap: true },
  });
  if (!prev?.targetPath || !existsSync(prev.targetPath)) return null;
  return {
    jobId: prev.jobId,
    targetPath: prev.targetPath,
    virtualSize: Number(prev.totalBytes),
    bitmap: prev.sourceBitmap,
  };
}

export type DiskPlanInput = {
  type: "full" | "incremental";
  source: InspectedSource;
  previous: PreviousPoint | null;
  /** NBD sources: the `qemu:dirty-bitmap:NAME` the request names. */
  dirtyBitmap?: string | null;
  /** NBD sources: whether the export offered it (unknown before connecting). */
  dirtyBitmapOffered?: boolean;
};

function factsOf(input: DiskPlanInput): SourceFacts {
  const { source } = input;
  if (source.kind === "nbd") {
    return {
      kind: "nbd",
      virtualSize: source.virtualSize,
      dirtyBitmap: input.dirtyBitmap ?? undefined,
      dirtyBitmapOffered: input.dirtyBitmapOffered,
    };
  }
  return { kind: source.format === "qcow2" ? "qcow2-file" : "raw-file", virtualSize: source.virtualSize };
}

/** The plan; throws SourceBusy when a writer holds the qcow2 source whose bitmap must be checked. */
export async function planDisk(input: DiskPlanInput): Promise<CopyPlan> {
  const source = factsOf(input);
  const { previous } = input;
  let bitmapCheck: BitmapCheck | undefined;
  const qcow2File = input.source.kind === "file" && input.source.format === "qcow2" ? input.source.path : null;
  if (input.type === "incremental" && previous?.bitmap && qcow2File) {
    bitmapCheck = await checkBitmap(qcow2File, previous.bitmap, previous.virtualSize);
  }
  return planCopy({
    type: input.type,
    source,
    previous: previous ? { jobId: previous.jobId, virtualSize: previous.virtualSize, bitmap: previous.bitmap } : null,
    bitmapCheck,
  });
}
