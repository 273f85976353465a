// What the stall and retry tests (stalls.test.ts, stall-retries.test.ts) share: the job as they
// read it, waiting for one of its states, and the checks that end each test (the target holds
// the source's content; no port held, no process left, not even a stopped one).
import path from "node:path";
import { execa } from "execa";
import { expect } from "vitest";
import { processesOf } from "./processes";
import type { TestServer } from "./server";
import { waitFor } from "./wait";

export type StallDisk = {
  diskId: string;
  status: string;
  targetPath: string;
  pid: number | null;
  transferredBytes: number;
  stalledSince: string | null;
  attempt: number;
  verified: boolean;
  error: string | null;
};
export type StallJob = {
  id: string;
  status: string;
  error: string | null;
  retries: number;
  disks: StallDisk[];
  events?: { kind: string; message: string }[];
};

/** The server settings for a stall time and a fail time, in seconds. */
export const stallEnv = (stall: number, fail: number) => ({
  NBDHUB_STALL_SECONDS: String(stall),
  NBDHUB_STALL_FAIL_SECONDS: String(fail),
});

export const jobOf = async (s: TestServer, id: string) => (await s.api<StallJob>("GET", `/backups/${id}`)).body;

export const ended = (j: StallJob) => ["completed", "failed", "cancelled"].includes(j.status);

/** The job once `test` holds; fails at the deadline naming `what` did not happen. */
export const until = (s: TestServer, id: string, test: (j: StallJob) => boolean, timeoutMs: number, what: string) =>
  waitFor(
    async () => {
      const j = await jobOf(s, id);
      return test(j) ? j : undefined;
    },
    { timeoutMs, intervalMs: 100, what },
  );

/** The hub cannot compare an NBD source with its target itself; the test can. */
export async function expectSameContent(sourceUri: string, targetPath: string): Promise<void> {
  const compare = await execa("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", sourceUri, targetPath], {
    reject: false,
  });
  expect(compare.exitCode, compare.stdout + compare.stderr).toBe(0);
}

export async function expectNothingLeft(s: TestServer): Promise<void> {
  const ports = await s.api<{ allocated: number }>("GET", "/nbd/ports");
  expect(ports.body.allocated).toBe(0);
  // processesOf lists stopped processes too: a stopped qemu-nbd or nbdcopy must have been killed.
  expect(await processesOf(path.join(s.dataDir, "run"))).toEqual([]);
}
