// The first step of every ending, shared by a backup job's (finish.ts) and a restore's
// (lib/restore/finish-restore.ts): stop the owner's qemu-nbd processes (which also releases
// their ports), then release any port it still holds (reserved at admission). Answers what
// could not be given back, so the caller decides whether to write its status now or retry.
import "server-only";
import { messageOf } from "@/lib/messages";
import type { ExportManagerApi, PortPoolApi } from "@/lib/nbd/types";

export async function releaseResourcesOf(
  deps: { exports: ExportManagerApi; ports: PortPoolApi },
  ownerId: string,
): Promise<string[]> {
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
