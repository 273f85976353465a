// Points that a prune must keep whatever retention says: a point in use. That is a point whose
// file (or a file it stands on) a running qemu-nbd serves, for example a read-only export of a
// completed backup, or one a restore not yet ended serves or copies (lib/restore/in-use.ts).
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { filesInUse } from "@/lib/restore/in-use";
import type { ProtectedPoint } from "./retention";

const LIVE_EXPORT = ["starting", "ready", "stopping"];

export type PointFiles = { jobId: string; files: string[] };

/** Points a restore not yet ended serves or copies (any file of their chain). */
async function restoresInUse(db: Db, points: readonly PointFiles[]): Promise<ProtectedPoint[]> {
  const read = await filesInUse(db);
  if (read.size === 0) return [];
  return points
    .filter((p) => p.files.some((f) => read.has(f)))
    .map((p) => ({ jobId: p.jobId, reason: "read by a restore" }));
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
  return [...out, ...(await restoresInUse(db, points))];
}
