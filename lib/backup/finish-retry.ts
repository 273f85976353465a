// finishJob until it succeeds. It is idempotent, and while Postgres restarts it throws: without
// retries the job would stay "running" with nobody left to end it, holding its ports. The claim
// is written first (again, when the claimer wrote it already): a claimer that finds another's
// claim stands aside. After FINISH_RETRY_MS of failures the status is written anyway.
import "server-only";
import { claimEnding, type EndingKind } from "./claim";
import { CleanupIncomplete, finishJob, type Outcome } from "./finish";
import { ACTIVE_STATUSES, type RunnerState } from "./runner-state";
import { messageOf } from "@/lib/messages";

/** How long a job's ending is retried while Postgres is away before its status is forced. */
const FINISH_RETRY_MS = 120_000;
/** …and while the server shuts down (the next start fails the job anyway). */
const FINISH_RETRY_STOPPING_MS = 10_000;

export async function finishWithRetry(
  state: RunnerState,
  jobId: string,
  outcome: Outcome,
  kind: EndingKind,
): Promise<void> {
  const { db, log } = state.deps;
  const began = Date.now();
  const by = outcome.status === "cancelled" ? outcome.by : undefined;
  for (let attempt = 0; ; attempt += 1) {
    const limit = state.stopping ? FINISH_RETRY_STOPPING_MS : FINISH_RETRY_MS;
    const force = Date.now() - began > limit;
    try {
      const takeOver = state.active.has(jobId);
      const claim = await claimEnding(db, jobId, kind, { by, again: true, takeOver });
      if (!claim.won && ACTIVE_STATUSES.includes(claim.status)) {
        log.warn(`another ending (${claim.ending}) claimed the job first; standing aside`, { job: jobId });
        return;
      }
      await finishJob(state.finishDeps, jobId, outcome, { force });
      return;
    } catch (error) {
      const message = messageOf(error);
      if (force || (state.stopping && Date.now() - began > limit)) {
        log.error("could not end the job; the next start ends it", { job: jobId, error: message });
        throw error;
      }
      if (attempt === 0 || attempt % 10 === 0) {
        const what = error instanceof CleanupIncomplete ? "clean-up" : "database";
        const last = message.split("\n").filter(Boolean).slice(-1)[0];
        log.warn(`could not end the job yet (${what}); retrying`, { job: jobId, attempt, error: last });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** Math.min(attempt, 5))));
    }
  }
}
