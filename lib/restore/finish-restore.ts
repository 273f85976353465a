// The one way a restore ends (docs/decisions/016-restore.md): completed, expired, cancelled,
// failed, shut down or interrupted by a restart, every ending comes here after claiming the
// restore. Here only are its resources given back: its qemu-nbd processes stopped and its ports
// released (the same step as a backup job's, lib/backup/release-resources.ts), and the partial
// output of a copy removed. Idempotent: the status is written once (conditionally), the
// clean-up runs every time.
import "server-only";
import { promises as fs } from "node:fs";
import { releaseOrRefuse, type ResourceDeps } from "@/lib/backup/release-resources";
import type { Db } from "@/lib/db/prisma";
import { conflict, type DomainError } from "@/lib/errors";
import { messageOf } from "@/lib/messages";
import type { Logger } from "@/lib/log";
import { ACTIVE_RESTORE_STATUSES } from "./in-use";

export type RestoreOutcome =
  | { status: "completed" }
  | { status: "expired" }
  | { status: "failed"; reason: string }
  | { status: "cancelled"; by: string };

export type RestoreEnding = "completing" | "expiring" | "cancelling" | "failing";

export type FinishRestoreDeps = ResourceDeps & {
  db: Db;
  log: Logger;
  /** Tell the restore's event streams it changed. */
  changed(id: string): void;
};

export function endingOf(outcome: RestoreOutcome): RestoreEnding {
  const kinds = { completed: "completing", expired: "expiring", cancelled: "cancelling", failed: "failing" } as const;
  return kinds[outcome.status];
}

/** UPDATE restores SET ending … WHERE status is not final AND (ending IS NULL, or ours with `again`). */
export async function claimRestore(db: Db, id: string, kind: RestoreEnding, { again = false } = {}) {
  const unclaimed = again ? { OR: [{ ending: null }, { ending: kind }] } : { ending: null };
  const { count } = await db.restore.updateMany({
    where: { id, status: { in: [...ACTIVE_RESTORE_STATUSES] }, ...unclaimed },
    data: { ending: kind, endingAt: new Date() },
  });
  if (count > 0) return { won: true as const };
  const row = await db.restore.findUnique({ where: { id }, select: { status: true, ending: true } });
  return { won: false as const, status: row?.status ?? "missing", ending: row?.ending ?? null };
}

/** The 409 for an ending that came second. */
export function restoreEndingConflict(id: string, state: { status: string; ending: string | null }): DomainError {
  if (!(ACTIVE_RESTORE_STATUSES as readonly string[]).includes(state.status)) {
    return conflict("restore_finished", `restore ${id} already ended (${state.status})`);
  }
  const sentence = `restore ${id} is already ending (${state.ending ?? "ending"}); the first ending decides`;
  return conflict("restore_ending", sentence, { ending: state.ending });
}

function reasonOf(outcome: RestoreOutcome): string | null {
  if (outcome.status === "failed") return outcome.reason;
  if (outcome.status === "cancelled") return `cancelled by ${outcome.by}`;
  if (outcome.status === "expired") return "the export expired";
  return null;
}

/**
 * End the restore; call it only as its ending's claimer. Throws, writing nothing, when its
 * exports could not be stopped or its ports released, unless `force`.
 */
export async function finishRestore(
  deps: FinishRestoreDeps,
  id: string,
  outcome: RestoreOutcome,
  force = false,
): Promise<boolean> {
  const { db, log } = deps;
  const problems = await releaseOrRefuse(deps, { kind: "restore", id }, force);

  // A copy's output that did not complete must not stay: the file this restore created.
  const disks = await db.restoreDisk.findMany({ where: { restoreId: id } });
  for (const disk of disks) {
    if (disk.status === "completed" || !disk.outputPath) continue;
    await fs.rm(disk.outputPath, { force: true }).catch((error: unknown) => {
      problems.push(`removing ${disk.outputPath}: ${messageOf(error)}`);
    });
  }

  const finishedAt = new Date();
  const reason = reasonOf(outcome);
  const diskEnd = outcome.status === "completed" ? "completed" : outcome.status;
  const changed = await db.$transaction(async (tx) => {
    const updated = await tx.restore.updateMany({
      where: { id, status: { in: [...ACTIVE_RESTORE_STATUSES] } },
      data: { status: outcome.status, finishedAt, error: outcome.status === "failed" ? outcome.reason : null },
    });
    if (updated.count === 0) return false;
    // A disk that failed on its own keeps its reason; the others end with the restore.
    await tx.restoreDisk.updateMany({
      where: { restoreId: id, status: { notIn: ["completed", "failed", "cancelled", "expired"] } },
      data: { status: diskEnd, finishedAt, error: outcome.status === "expired" ? null : reason },
    });
    const idle = { pid: null, bytesPerSecond: 0, etaSeconds: null, stalledSince: null };
    await tx.restoreDisk.updateMany({ where: { restoreId: id }, data: idle });
    return true;
  });
  const note = problems.length ? `; clean-up problems: ${problems.join("; ")}` : "";
  const how = reason ? `${outcome.status} (${reason})` : outcome.status;
  if (changed) log.info(`restore ${how}; exports stopped, ports released${note}`, { restore: id });
  else if (problems.length) log.warn(`restore ${id}: clean-up problems${note}`, { restore: id });
  deps.changed(id);
  return changed;
}
