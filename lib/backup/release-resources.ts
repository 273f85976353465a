// The first step of every ending, shared by a backup job's (finish.ts) and a restore's
// (lib/restore/finish-restore.ts): stop the owner's qemu-nbd processes (which also releases
// their ports), then release any port it still holds (reserved at admission). Answers what
// could not be given back; unless forced, the ending stops there (CleanupIncomplete) and is retried.
import "server-only";
import { messageOf } from "@/lib/messages";
import type { ExportManagerApi, PortPoolApi } from "@/lib/nbd/types";

/** What an ending gives back through: the exports (processes) and the pool (ports). */
export type ResourceDeps = { exports: ExportManagerApi; ports: PortPoolApi };

/**
 * The owner's exports could not be stopped or its ports released (typically: Postgres is
 * restarting). The status is not written, so the owner does not look ended while it still
 * holds resources; the caller retries (the endings are idempotent).
 */
export class CleanupIncomplete extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CleanupIncomplete";
  }
}

/**
 * Give back the processes and ports of a job or restore (`owner`: "job ID", "restore ID").
 * Throws CleanupIncomplete when something could not be given back, unless `force` (retries gave
 * up: the ending goes on and records the problems it is answered).
 */
export async function releaseOrRefuse(
  deps: ResourceDeps,
  owner: { kind: "job" | "restore"; id: string },
  force: boolean,
): Promise<string[]> {
  const problems = await releaseResourcesOf(deps, owner.id);
  if (problems.length > 0 && !force)
    throw new CleanupIncomplete(`${owner.kind} ${owner.id} still holds resources: ${problems.join("; ")}`);
  return problems;
}

async function releaseResourcesOf(deps: ResourceDeps, ownerId: string): Promise<string[]> {
  const problems: string[] = [];
  try {
    await deps.exports.stopJob(ownerId);
  } catch (error) {
    problems.push(`stopping exports: ${messageOf(error)}`);
  }
  try {
    await deps.ports.releaseJob(ownerId);
  } catch (error) {
    problems.push(`releasing ports: ${messageOf(error)}`);
  }
  return problems;
}
