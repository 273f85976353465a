// A chain of restore points built from scratch through the API, for the restore tests: a raw
// source under the sources root, backed up in full, then changed and backed up incrementally
// `incrementals` times. Each point keeps a copy of the source as it was when it was taken.
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { makeImage } from "./images";
import type { TestServer } from "./server";
import { waitFor } from "./wait";

const MiB = 1024 * 1024;

export type ChainPoint = { jobId: string; type: "full" | "incremental"; snapshot: string };
export type Restore = {
  id: string;
  jobId: string;
  mode: string;
  status: string;
  error: string | null;
  expiresAt: string | null;
  disks: {
    diskId: string;
    port: number | null;
    nbdUri: string | null;
    pid: number | null;
    status: string;
    error: string | null;
    transferredBytes: number;
    totalBytes: number;
    chain: string[];
  }[];
};

export async function waitForJob(server: TestServer, id: string): Promise<{ status: string; error: string | null }> {
  await server.waitForJobEnd(id, 120_000);
  return (await server.api<{ status: string; error: string | null }>("GET", `/backups/${id}`)).body;
}

/** Full + `incrementals` incrementals of a 16 MiB raw disk "sda" of `vmName`; snapshots under `dir`. */
export async function buildChain(
  server: TestServer,
  vmName: string,
  dir: string,
  incrementals = 3,
): Promise<ChainPoint[]> {
  const source = path.join(server.dataDir, "sources", `${vmName}.img`);
  await makeImage(source, { sizeMiB: 16, randomMiB: 3 });
  await fs.mkdir(dir, { recursive: true });
  const points: ChainPoint[] = [];
  for (let i = 0; i <= incrementals; i += 1) {
    if (i > 0) {
      // Change the source between runs: new data in a fresh area and over old data.
      const handle = await fs.open(source, "r+");
      await handle.write(randomBytes(MiB), 0, MiB, (8 + i) * MiB);
      await handle.write(randomBytes(64 * 1024), 0, 64 * 1024, i * 4096);
      await handle.close();
    }
    const type = i === 0 ? "full" : "incremental";
    const r = await server.api<{ id: string }>("POST", "/backups", {
      vmName,
      type,
      disks: [{ diskId: "sda", source: path.basename(source) }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const job = await waitForJob(server, r.body.id);
    expect(job.status, job.error ?? "").toBe("completed");
    const snapshot = path.join(dir, `point-${i}.raw`);
    await fs.copyFile(source, snapshot);
    points.push({ jobId: r.body.id, type, snapshot });
  }
  return points;
}

/** GET /restores/{id} until `done` says so, with a deadline. */
export async function restoreWhen(
  server: TestServer,
  id: string,
  done: (r: Restore) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<Restore> {
  return waitFor(
    async () => {
      const r = (await server.api<Restore>("GET", `/restores/${id}`)).body;
      return done(r) ? r : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `restore ${id} ${what}` },
  );
}
