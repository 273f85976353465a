// Targets that finishJob could not remove when their job ended (the repository was
// read-only, or the server died first): removed later, so no incomplete target stays in the
// repository. A file is removed only when a disk row names it, that disk did not complete
// and its job (one of this node's) has ended; anything else in the repository is left alone.
// The runner keeps the files still to remove (LeftoverTargets) and tries them again every few
// seconds.
import "server-only";
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { removeTarget } from "./target";
import { messageOf } from "@/lib/messages";

const ENDED = ["completed", "failed", "cancelled"];

async function qcow2Files(dir: string, out: string[] = []): Promise<string[]> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await qcow2Files(file, out);
    else if (entry.isFile() && entry.name.endsWith(".qcow2")) out.push(file);
  }
  return out;
}

/**
 * Remove the given files (or, without `files`, every qcow2 in the repository) that are
 * leftovers. Returns those to try again.
 */
export async function removeLeftoverTargets(
  db: Db,
  /** This node: only its jobs' targets are its to remove. */
  node: string,
  repositoryDir: string,
  log: Logger,
  files?: string[],
): Promise<string[]> {
  const candidates = files ?? (await qcow2Files(repositoryDir));
  const left: string[] = [];
  for (let i = 0; i < candidates.length; i += 500) {
    const batch = candidates.slice(i, i + 500);
    const rows = await db.backupDisk.findMany({
      where: { targetPath: { in: batch }, job: { node } },
      select: { targetPath: true, status: true, job: { select: { status: true } } },
    });
    for (const row of rows) {
      if (!row.targetPath || row.status === "completed" || !existsSync(row.targetPath)) continue;
      // Its job is still being ended (finishJob removes files before it writes the status).
      if (!ENDED.includes(row.job.status)) {
        left.push(row.targetPath);
        continue;
      }
      try {
        await removeTarget(row.targetPath, repositoryDir);
        log.info("removed the target of a disk that did not complete", { file: row.targetPath });
      } catch (error) {
        left.push(row.targetPath);
        const what = "could not remove the target of a disk that did not complete; will retry";
        log.warn(what, { file: row.targetPath, error: messageOf(error) });
      }
    }
  }
  return left;
}

/** Targets of ended jobs that could not be removed yet (a read-only repository), retried. */
export class LeftoverTargets {
  private readonly files = new Set<string>();

  constructor(private readonly deps: { db: Db; config: Config; log: Logger }) {}

  add(file: string): void {
    this.files.add(file);
  }

  async retry(): Promise<void> {
    if (this.files.size === 0) return;
    try {
      const { db, config, log } = this.deps;
      const left = new Set(
        await removeLeftoverTargets(db, config.nodeName, config.repositoryDir, log, [...this.files]),
      );
      for (const file of [...this.files]) if (!left.has(file)) this.files.delete(file);
    } catch (error) {
      this.deps.log.warn("could not retry removing leftover targets", { error: messageOf(error) });
    }
  }
}
