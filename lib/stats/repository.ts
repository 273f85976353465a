// The repository's space (GET /repository, the dashboard's chart): the file system's total and
// free bytes (statfs), and the bytes the backups hold: the allocated size of the targets of
// completed, unpruned points, per VM.
import "server-only";
import { promises as fs } from "node:fs";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { RepositoryPoint, RepositoryView } from "./types";

export type { RepositoryPoint, RepositoryView } from "./types";

async function allocated(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).blocks * 512;
  } catch {
    return 0;
  }
}

export async function repositoryView(
  db: Db,
  config: Pick<Config, "repositoryDir" | "repositoryReserveBytes">,
): Promise<RepositoryView> {
  const s = await fs.statfs(config.repositoryDir);
  const jobs = await db.backupJob.findMany({
    where: { status: "completed", prunedAt: null },
    select: { vmName: true, disks: { select: { targetPath: true } } },
  });
  const vms = new Map<string, { bytes: number; restorePoints: number }>();
  let used = 0;
  for (const job of jobs) {
    const sizes = await Promise.all(job.disks.map((d) => (d.targetPath ? allocated(d.targetPath) : 0)));
    const bytes = sizes.reduce((a, b) => a + b, 0);
    used += bytes;
    const vm = vms.get(job.vmName) ?? { bytes: 0, restorePoints: 0 };
    vm.bytes += bytes;
    vm.restorePoints += 1;
    vms.set(job.vmName, vm);
  }
  return {
    path: config.repositoryDir,
    totalBytes: s.blocks * s.bsize,
    freeBytes: s.bavail * s.bsize,
    usedByBackups: used,
    reserveBytes: config.repositoryReserveBytes,
    vms: [...vms.entries()].map(([vmName, v]) => ({ vmName, ...v })).sort((a, b) => a.vmName.localeCompare(b.vmName)),
  };
}

/** Samples of the last `hours`, oldest first, at most `max` (evenly thinned). */
export async function repositoryHistory(db: Db, hours: number, max = 300): Promise<{ points: RepositoryPoint[] }> {
  const rows = await db.repositorySample.findMany({
    where: { at: { gte: new Date(Date.now() - hours * 3_600_000) } },
    orderBy: { at: "asc" },
  });
  const step = Math.max(1, Math.ceil(rows.length / max));
  const points = rows
    .filter((_, i) => i % step === 0 || i === rows.length - 1)
    .map((r) => ({
      at: r.at.toISOString(),
      totalBytes: Number(r.totalBytes),
      freeBytes: Number(r.freeBytes),
      usedByBackups: Number(r.usedByBackups),
    }));
  return { points };
}
