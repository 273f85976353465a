// Carries out the steps of a prune plan (lib/policy/prune-plan.ts) with qemu-img, one at a
// time. Every step is idempotent and resumable: it first reads the state of its files; a step
// whose "after" state is already there is skipped, a step whose "before" state is there runs,
// and anything else stops the plan (the repository changed under it: nothing is guessed).
// A kept point's file is never changed in place: a merge builds the new file beside it,
// compares its guest view with the old chain's (qemu-img compare), and only then renames it
// over the old one, so a crash at any moment leaves every kept point readable, and re-running
// the plan converges. Only the files a step names are touched (its temporary file included).
// Formats are always given (-f/-F qcow2); children get the minimal environment of runChild,
// a timeout, and the caller's abort signal. Why rebase and commit are used as they are:
// docs/decisions/014-retention-and-prune.md.
import "server-only";
import { constants, promises as fs } from "node:fs";
import path from "node:path";
import { PRIVATE_FILE_MODE } from "@/lib/fs/private-modes";
import type { Logger } from "@/lib/log";
import { runChild } from "@/lib/proc/child";
import { backingChain, fileExists, fileState } from "./image-info";
import {
  TEMP_SUFFIX,
  type CommitStep,
  type DeleteStep,
  type FileState,
  type PrunePlan,
  type PruneStep,
  type RebaseStep,
} from "./prune-plan";
import { lastLine } from "@/lib/proc/last-line";

export type MergeOptions = {
  /** Longest a qemu-img rebase, commit or compare may run (default 6 hours). */
  timeoutMs?: number;
  /** Free space to leave on the repository's file system besides what a merge may need. */
  reserveBytes?: number;
  /** Aborts the running qemu-img (server shutdown); the step is left to be run again. */
  signal?: AbortSignal;
  log?: Logger;
};

export type StepResult = {
  index: number;
  kind: PruneStep["kind"];
  jobId: string;
  diskId: string;
  outcome: "done" | "already done";
  ms: number;
};

export type PlanRun = {
  results: StepResult[];
  /** True when every step is done; false when stopped by an error or by `maxMerges`. */
  complete: boolean;
  error?: { index: number; message: string };
};

const DEFAULT_TIMEOUT_MS = 6 * 3_600_000;
/** Room for qcow2 metadata (L2 and refcount tables) a merge may add, besides the data itself. */
const METADATA_MARGIN_BYTES = 64 * 1024 * 1024;

export class MergeStepError extends Error {
  constructor(step: PruneStep, message: string) {
    super(`${step.kind} of disk ${step.diskId} of ${step.jobId}: ${message}`);
    this.name = "MergeStepError";
  }
}

function sameState(a: FileState, b: FileState): boolean {
  if (a.file !== b.file || a.exists !== b.exists) return false;
  return !a.exists || !b.exists || a.backing === b.backing;
}

function describe(state: FileState): string {
  if (!state.exists) return `${state.file} absent`;
  return `${state.file} on ${state.backing ?? "nothing"}`;
}

async function states(expected: FileState[]): Promise<FileState[]> {
  return Promise.all(expected.map((s) => fileState(s.file)));
}

const matches = (current: FileState[], expected: FileState[]) => expected.every((s, i) => sameState(current[i], s));

/** Run qemu-img; its exit code and last line of stderr (a stop or a timeout is an error). */
async function qemuImg(
  step: PruneStep,
  args: string[],
  options: MergeOptions,
): Promise<{ exitCode: number; why: string }> {
  const result = await runChild("qemu-img", args, {
    reject: false,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  if (result.isCanceled) throw new MergeStepError(step, `qemu-img ${args[0]} was stopped (the step will run again)`);
  if (result.timedOut) throw new MergeStepError(step, `qemu-img ${args[0]} took longer than its timeout`);
  const exitCode = result.exitCode ?? -1;
  return { exitCode, why: lastLine(result.stderr) || `exit ${exitCode}` };
}

async function run(step: PruneStep, args: string[], options: MergeOptions): Promise<void> {
  const { exitCode, why } = await qemuImg(step, args, options);
  if (exitCode !== 0) throw new MergeStepError(step, `qemu-img ${args[0]} failed: ${why}`);
}

/** The guest views of two images are identical (exit 0), or the step fails. */
async function verifySame(step: PruneStep, before: string, after: string, options: MergeOptions): Promise<void> {
  const args = ["compare", "-q", "-f", "qcow2", "-F", "qcow2", before, after];
  const { exitCode, why } = await qemuImg(step, args, options);
  if (exitCode === 1) {
    throw new MergeStepError(step, `the merged image ${after} differs from ${before}: nothing was replaced`);
  }
  if (exitCode !== 0) throw new MergeStepError(step, `qemu-img compare of ${before} and ${after} failed: ${why}`);
}

/** qemu-img check: exit 0 clean, 3 leaked clusters only (harmless). */
async function verifyConsistent(step: PruneStep, file: string, options: MergeOptions): Promise<void> {
  const { exitCode, why } = await qemuImg(step, ["check", "-q", "-f", "qcow2", file], options);
  if (exitCode !== 0 && exitCode !== 3) throw new MergeStepError(step, `qemu-img check found ${file} damaged: ${why}`);
}

async function allocatedBytes(files: string[]): Promise<number> {
  let total = 0;
  for (const file of files) total += (await fs.stat(file)).blocks * 512;
  return total;
}

/** Refuse a merge that may not fit: the data it can copy, metadata room and the reserve must be free. */
async function ensureSpace(step: PruneStep, folder: string, dataBytes: number, options: MergeOptions): Promise<void> {
  const stats = await fs.statfs(folder);
  const free = Number(stats.bavail) * Number(stats.bsize);
  const needed = dataBytes + METADATA_MARGIN_BYTES + (options.reserveBytes ?? 0);
  if (free < needed) {
    const MiB = (n: number) => `${Math.ceil(n / 1024 / 1024)} MiB`;
    throw new MergeStepError(
      step,
      `not enough free space in ${folder}: the merge may need ${MiB(needed)} ` +
        `(data it may copy, metadata and the reserve), ${MiB(free)} are free; ${MiB(needed - free)} are missing`,
    );
  }
}

/** Make a rename durable: fsync the file, rename, fsync the folder. */
async function replaceDurably(from: string, to: string): Promise<void> {
  const handle = await fs.open(from, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(from, to);
  const folder = await fs.open(path.dirname(to), "r");
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

async function runRebase(step: RebaseStep, options: MergeOptions): Promise<void> {
  if (step.temp !== `${step.child}${TEMP_SUFFIX}`) {
    throw new MergeStepError(step, "the temporary file is not the child's");
  }
  await fs.rm(step.temp, { force: true }); // a copy left by a run that stopped half-way
  await ensureSpace(step, path.dirname(step.child), await allocatedBytes([step.child, ...step.absorbs]), options);
  try {
    await fs.copyFile(step.child, step.temp, constants.COPYFILE_EXCL);
    await fs.chmod(step.temp, PRIVATE_FILE_MODE);
    // Safe mode (no -u): qemu-img copies into the copy every cluster where the old chain and
    // the new backing differ, so its guest view stays the child's.
    const backing = step.newBacking === null ? ["-b", ""] : ["-b", step.newBacking, "-F", "qcow2"];
    await run(step, ["rebase", "-q", "-f", "qcow2", ...backing, step.temp], options);
    await verifyConsistent(step, step.temp, options);
    await verifySame(step, step.child, step.temp, options);
    await replaceDurably(step.temp, step.child);
  } finally {
    await fs.rm(step.temp, { force: true });
  }
}

async function runCommit(step: CommitStep, options: MergeOptions): Promise<void> {
  if (path.dirname(step.base) !== path.dirname(step.top)) {
    throw new MergeStepError(step, "base and top are in different folders");
  }
  await ensureSpace(step, path.dirname(step.base), await allocatedBytes([step.top, ...step.intermediates]), options);
  // -b names the base, which implies -d: the top is not emptied, so its guest view (and that
  // of every point standing on it) stays readable while the base is rewritten, and a commit
  // stopped half-way can simply run again.
  await run(step, ["commit", "-q", "-f", "qcow2", "-b", step.base, step.top], options);
  await verifyConsistent(step, step.base, options);
  await verifySame(step, step.top, step.base, options);
  await replaceDurably(step.base, step.top);
}

async function runDelete(step: DeleteStep): Promise<void> {
  for (const guard of step.guards) {
    let chain: string[];
    try {
      chain = await backingChain(guard);
    } catch (error) {
      throw new MergeStepError(
        step,
        `the chain of ${guard} cannot be read, so ${step.file} is not deleted: ` +
          `${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (chain.includes(step.file)) throw new MergeStepError(step, `${guard} still stands on ${step.file}: not deleted`);
  }
  await fs.rm(step.file, { force: true });
}

/** Run one step (or find it already done). Throws MergeStepError when it cannot. */
export async function runStep(step: PruneStep, index: number, options: MergeOptions = {}): Promise<StepResult> {
  const started = Date.now();
  const result = (outcome: StepResult["outcome"]): StepResult => ({
    index,
    kind: step.kind,
    jobId: step.jobId,
    diskId: step.diskId,
    outcome,
    ms: Date.now() - started,
  });
  const current = await states(step.after);
  if (matches(current, step.after)) {
    if (step.kind === "rebase" && (await fileExists(step.temp))) await fs.rm(step.temp, { force: true });
    return result("already done");
  }
  const before = await states(step.before);
  if (!matches(before, step.before)) {
    throw new MergeStepError(
      step,
      `the files are not as the plan expects (found ${before.map(describe).join(", ")}; ` +
        `expected ${step.before.map(describe).join(", ")} or ${step.after.map(describe).join(", ")})`,
    );
  }
  options.log?.info("prune step", { kind: step.kind, jobId: step.jobId, diskId: step.diskId, index });
  if (step.kind === "rebase") await runRebase(step, options);
  else if (step.kind === "commit") await runCommit(step, options);
  else await runDelete(step);
  return result("done");
}

/**
 * Run a plan's steps in order until one fails or, with `maxMerges`, until that many merges
 * (rebase or commit) have run in this call (merges are slow; the rest runs next time, and the
 * plan converges). A step already done is skipped.
 */
export async function runPlan(plan: PrunePlan, options: MergeOptions & { maxMerges?: number } = {}): Promise<PlanRun> {
  const results: StepResult[] = [];
  let merges = 0;
  for (const [index, step] of plan.steps.entries()) {
    if (step.kind !== "delete" && options.maxMerges !== undefined && merges >= options.maxMerges) {
      return { results, complete: false };
    }
    try {
      const result = await runStep(step, index, options);
      if (step.kind !== "delete" && result.outcome === "done") merges += 1;
      results.push(result);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      options.log?.error("prune step failed", { index, kind: step.kind, jobId: step.jobId, message });
      return { results, complete: false, error: { index, message } };
    }
  }
  return { results, complete: true };
}
