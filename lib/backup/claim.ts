// The claim on a job's ending (issue 11, item 16). Every way a job can end (complete, cancel,
// fail, the stale check, a crash, shutdown) first claims the job with one guarded transition,
// before any clean-up: the first claimer decides how the job ends, and no other ending may
// stop its exports, delete its files or write its status meanwhile.
import "server-only";
import { conflict, type DomainError } from "@/lib/errors";
import type { Db } from "@/lib/db/prisma";
import type { Outcome } from "./finish";

export type EndingKind = "completing" | "cancelling" | "failing";

export type ClaimResult = { won: true } | { won: false; status: string; ending: string | null };

const ACTIVE = ["queued", "running"];

export function kindOf(outcome: Outcome): EndingKind {
  return outcome.status === "completed" ? "completing" : outcome.status === "cancelled" ? "cancelling" : "failing";
}

/**
 * UPDATE … SET ending WHERE status IN ('queued','running') AND ending IS NULL. With `again`, a
 * claim of the same kind counts as won (the claimer writing it again after a database outage).
 * With `takeOver`, any claim is replaced: the job runs in the caller's process and no ending
 * there holds it, so the claim written is one whose claimer withdrew (its answer was lost).
 */
export async function claimEnding(
  db: Db,
  jobId: string,
  kind: EndingKind,
  { by, again = false, takeOver = false }: { by?: string; again?: boolean; takeOver?: boolean } = {},
): Promise<ClaimResult> {
  const unclaimed = takeOver ? {} : again ? { OR: [{ ending: null }, { ending: kind }] } : { ending: null };
  const { count } = await db.backupJob.updateMany({
    where: { id: jobId, status: { in: ACTIVE }, ...unclaimed },
    data: { ending: kind, endingAt: new Date(), ...(by ? { cancelledBy: by } : {}) },
  });
  if (count > 0) return { won: true };
  const row = await db.backupJob.findUnique({ where: { id: jobId }, select: { status: true, ending: true } });
  return { won: false, status: row?.status ?? "missing", ending: row?.ending ?? null };
}

/** The 409 for an ending that came second: the job ended already, or another ending has it. */
export function endingConflict(jobId: string, state: { status: string; ending: string | null }): DomainError {
  if (!ACTIVE.includes(state.status)) {
    return conflict("job_finished", `job ${jobId} already ended (${state.status})`);
  }
  const sentence = `job ${jobId} is already ending (${state.ending ?? "ending"}); the first ending decides how it ends`;
  return conflict("job_ending", sentence, { ending: state.ending });
}
