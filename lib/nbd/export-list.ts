// GET /nbd/qemu-nbd: the running exports, and with `recent` also those that ended in the last
// seconds (newest ending first), so the Ports grid can show a port whose qemu-nbd crashed.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { LIVE_STATUSES } from "./port-pool";
import { toExportInfo } from "./export-rows";
import type { ExportInfo } from "./types";

/** Ended rows returned at most: the grid needs the latest per port, a few hundred ports at most. */
const MAX_ENDED = 500;

export async function listRecentExports(
  db: Db,
  nbdHost: string,
  recentSeconds: number,
  node?: string,
): Promise<ExportInfo[]> {
  const now = Date.now();
  const ofNode = node === undefined ? {} : { node };
  const [live, ended] = await Promise.all([
    db.nbdExport.findMany({ where: { status: { in: [...LIVE_STATUSES] }, ...ofNode }, orderBy: { port: "asc" } }),
    recentSeconds > 0
      ? db.nbdExport.findMany({
          where: {
            status: { notIn: [...LIVE_STATUSES] },
            stoppedAt: { gte: new Date(now - recentSeconds * 1000) },
            ...ofNode,
          },
          orderBy: [{ stoppedAt: "desc" }, { id: "desc" }],
          take: MAX_ENDED,
        })
      : Promise.resolve([]),
  ]);
  return [...live, ...ended].map((row) => toExportInfo(row, nbdHost, now));
}
