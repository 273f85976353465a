// Points that a prune must keep whatever retention says: a point in use. Today that is a point
// whose file (or a file it stands on) a running qemu-nbd serves, for example a read-only
// export of a completed backup. Restores (lib/restore, issue 16's sibling work) add their own
// check here: `restoresInUse` is the seam, to be replaced by that module's in-use query when
// it lands (a restore that exports or copies a point protects it and its chain).
import "server-only";
import type { Db } from "@/lib/db/prisma";
import type { ProtectedPoint } from "./retention";

const LIVE_EXPORT = ["starting", "ready", "stopping"];

export type PointFiles = { jobId: string; files: string[] };

/** The seam for restores: points of the VM a restore is using. None until lib/restore exists. */
async function restoresInUse(_db: Db, _vmName: string): Promise<ProtectedPoint[]> {
  return [];
}

/** Points of the VM in use now, with the reason (`protected: <reason>` in the preview). */
export async function protectedPoints(
  db: Db,
  vmName: string,
  points: readonly PointFiles[],
): Promise<ProtectedPoint[]> {
  const exports = await db.nbdExport.findMany({
    where: { status: { in: LIVE_EXPORT } },
    select: { filePath: true, port: true },
  });
  const served = new Map(exports.map((e) => [e.filePath, e.port]));
  const out: ProtectedPoint[] = [];
  for (const point of points) {
    const hit = point.files.find((f) => served.has(f));
    if (hit) out.push({ jobId: point.jobId, reason: `served by an export on port ${served.get(hit)}` });
  }
  return [...out, ...(await restoresInUse(db, vmName))];
}
