// Issue 16, "Space": a repository on a small tmpfs refuses the backup that would not fit with
// 507 repository_full and a sentence saying how much is missing; nothing is started or left
// behind (no job row, no port, no process, no file). GET /repository says what is used.
import { execa } from "execa";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { filesUnder, makeImage } from "../helpers/images";
import { processesOf } from "../helpers/processes";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor } from "../helpers/wait";

type Repo = {
  path: string;
  totalBytes: number;
  freeBytes: number;
  usedByBackups: number;
  reserveBytes: number;
  vms: unknown[];
};
type Refusal = { error: { code: string; message: string; details: { missingBytes: number } } };

const fleet = new ServerFleet("space");
let mounted: string | undefined;
afterAll(async () => {
  await fleet.end();
  if (mounted) await execa("umount", [mounted], { reject: false });
  if (mounted) await rm(mounted, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;

describe("repository space", () => {
  const title = "refuses a backup that would not fit with 507, starting nothing and leaving nothing";
  it(title, { timeout: 120_000 }, async () => {
    const repository = await mkdtemp(path.join(os.tmpdir(), "nbdhub-small-repo-"));
    // As root (CI) the repository is a 48 MiB tmpfs, as the chaos harness mounts one; otherwise
    // the reserve alone makes the free space too small (the same check, on a real file system).
    if (isRoot) {
      await execa("mount", ["-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", repository]);
      mounted = repository;
    }
    const reserve = isRoot ? "8M" : "1P";
    const server = await fleet.start(
      { NBDHUB_REPOSITORY_DIR: repository, NBDHUB_REPOSITORY_RESERVE: reserve, NBDHUB_DEMO_SOURCES: "0" },
      { ports: 2 },
    );
    await makeImage(path.join(server.dataDir, "sources", "big.img"), { sizeMiB: 128, randomMiB: 48 });
    await makeImage(path.join(server.dataDir, "sources", "small.img"), { sizeMiB: 8, randomMiB: 1 });

    const before = await server.api<Repo>("GET", "/repository");
    expect(before.status).toBe(200);
    expect(before.body.path).toBe(repository);
    expect(before.body.reserveBytes).toBeGreaterThan(0);

    const refused = await server.api<Refusal>("POST", "/backups", {
      vmName: "big-vm",
      type: "full",
      disks: [{ source: "big.img" }],
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(507);
    expect(refused.body.error.code).toBe("repository_full");
    expect(refused.body.error.message).toMatch(/are missing/);
    expect(refused.body.error.details.missingBytes).toBeGreaterThan(0);

    // Nothing started, nothing left.
    const jobs = await server.api<{ items: unknown[] }>("GET", "/backups");
    expect(jobs.body.items).toEqual([]);
    const ports = await server.api<{ allocated: number }>("GET", "/nbd/ports");
    expect(ports.body.allocated).toBe(0);
    expect(await processesOf(path.join(server.dataDir, "run"))).toEqual([]);
    expect(await filesUnder(repository)).toEqual([]);

    if (isRoot) {
      // A backup that fits still runs, and the repository counts it.
      const ok = await server.api<{ id: string }>("POST", "/backups", {
        vmName: "small-vm",
        type: "full",
        disks: [{ source: "small.img" }],
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(202);
      await waitFor(
        async () => {
          const r = await server.api<{ status: string }>("GET", `/backups/${ok.body.id}`);
          return r.body.status === "completed" ? true : undefined;
        },
        { timeoutMs: 60_000, what: "the small backup to complete" },
      );
      const after = await server.api<Repo>("GET", "/repository");
      expect(after.body.usedByBackups).toBeGreaterThan(0);
      expect(after.body.vms).toEqual([expect.objectContaining({ vmName: "small-vm", restorePoints: 1 })]);
    }
  });
});
