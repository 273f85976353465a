// A backup that does not equal its source must never be marked completed, and every ending
// gives back every port the job holds, including one its exports do not account for.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { badMoverDir, type Harm } from "../helpers/bad-mover";
import { filesUnder, makeImage } from "../helpers/images";
import { slowSource, type NbdSource } from "../helpers/nbdkit";
import { processesOf } from "../helpers/processes";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { waitFor } from "../helpers/wait";

type Disk = { diskId: string; status: string; targetPath: string; transferredBytes: number; error: string | null };
type Job = { id: string; status: string; error: string | null; disks: Disk[] };
type Ports = { allocated: number; allocations: { port: number; jobId: string }[] };

const fleet = new ServerFleet("verify");
afterAll(() => fleet.end());

const newServer = (env: Record<string, string> = {}) => fleet.start(env, { ports: 4 });

async function ended(server: TestServer, id: string): Promise<Job> {
  return waitFor(
    async () => {
      const r = await server.api<Job>("GET", `/backups/${id}`);
      return ["completed", "failed", "cancelled"].includes(r.body.status) ? r.body : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `job ${id} to end` },
  );
}

async function expectNothingHeld(server: TestServer) {
  const ports = await server.api<Ports>("GET", "/nbd/ports");
  expect(ports.body.allocations, "ports still held after the job ended").toEqual([]);
  expect(await processesOf(path.join(server.dataDir, "run")), "processes left after the job ended").toEqual([]);
}

describe("verification of what was copied", () => {
  const cases: [Harm, string][] = [
    ["target", "the target is damaged between the copy and the verification (one wrong block written into the export)"],
    ["source", "the source changes after the mover read it, while the job still runs"],
  ];
  for (const [harm, story] of cases) {
    it(`fails the job when ${story}, and leaves no partial target`, { timeout: 90_000 }, async () => {
      const bin = await badMoverDir(harm);
      const server = await newServer({ PATH: `${bin}:${process.env.PATH}` });
      await makeImage(path.join(server.dataDir, "sources", "disk.img"), { sizeMiB: 16, randomMiB: 4 });
      const r = await server.api<Job>("POST", "/backups", {
        vmName: `bad-${harm}`,
        type: "full",
        disks: [{ diskId: "d0", source: "disk.img" }],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const job = await ended(server, r.body.id);
      expect(job.status, "a backup that differs from its source must not complete").toBe("failed");
      expect(job.error).toMatch(/verification failed/);
      expect(job.disks[0].status).toBe("failed");
      expect(existsSync(job.disks[0].targetPath), "the partial target must be removed").toBe(false);
      expect(await filesUnder(path.join(server.dataDir, "repository"))).toEqual([]);
      await expectNothingHeld(server);
    });
  }
});

describe("the ending path gives back every port of the job", () => {
  // A port can be held under a job's id without an export on it (the allocate API, or a
  // server that died between allocating and starting qemu-nbd). Stopping the exports does
  // not free it: only the ending path's own release does.
  it(
    "a cancelled job and a failed job release a port held under their id that no export uses",
    { timeout: 90_000 },
    async () => {
      const server = await newServer();
      const start = async (vmName: string, slow: NbdSource) => {
        const r = await server.api<Job>("POST", "/backups", {
          vmName,
          type: "full",
          disks: [{ diskId: "d0", source: slow.uri }],
        });
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        await waitFor(
          async () => (await server.api<Job>("GET", `/backups/${r.body.id}`)).body.disks[0].status === "transferring",
          { timeoutMs: 20_000, what: `${vmName} to copy` },
        );
        const extra = await server.api<{ port: number }>("POST", "/nbd/ports/allocate", {
          jobId: r.body.id,
          vmName,
          exportName: `${vmName}-extra`,
        });
        expect(extra.status).toBe(201);
        return r.body.id;
      };

      // One source each: nbdkit serves a slow source to one client only.
      const first = await fleet.source(slowSource("256M", "4M"));
      const second = await fleet.source(slowSource("256M", "4M"));
      const cancelled = await start("cancelme", first);
      expect((await server.api<Job>("POST", `/backups/${cancelled}/cancel`)).status).toBe(202);
      expect((await ended(server, cancelled)).status).toBe("cancelled");
      await expectNothingHeld(server);

      const failed = await start("failme", second);
      // The source goes away mid-copy: the mover fails, so does the job.
      await second.stop();
      const job = await ended(server, failed);
      expect(job.status).toBe("failed");
      await expectNothingHeld(server);
    },
  );
});
