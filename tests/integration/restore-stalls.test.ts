// A copy restore follows the stall rule of a backup disk (issue 19): while the copy moves it is
// never stalled; a stopped mover shows `stalledSince`, then the restore fails "no progress for
// N s (mover pid P)" and leaves no port, no process and no partial file.
import { existsSync, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processesOf } from "../helpers/processes";
import { buildChain, restoreWhen, type ChainPoint, type Restore } from "../helpers/restore-chain";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { slowMoverDir } from "../helpers/slow-mover";

type StallView = Restore & { disks: (Restore["disks"][number] & { stalledSince: string | null })[] };

const STALL = 2;
const STALL_FAIL = 5;
const fleet = new ServerFleet("reststall");
let server: TestServer;
let point: ChainPoint;
let work: string;

beforeAll(async () => {
  // A file destination written at 1 MiB/s: the 16 MiB copy takes ~16 s, time to watch and stop it.
  const bin = await slowMoverDir("1M");
  server = await fleet.start(
    {
      PATH: `${bin}:${process.env.PATH}`,
      NBDHUB_STALL_SECONDS: String(STALL),
      NBDHUB_STALL_FAIL_SECONDS: String(STALL_FAIL),
    },
    { ports: 2 },
  );
  work = await fs.mkdtemp(path.join(os.tmpdir(), "nbdhub-restore-stalls-"));
  [point] = await buildChain(server, "svm", path.join(work, "snapshots"), 0);
  await fs.mkdir(path.join(server.dataDir, "sources", "restored"), { recursive: true });
}, 300_000);

afterAll(async () => {
  await fleet.end();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

const get = async (id: string) => (await server.api<StallView>("GET", `/restores/${id}`)).body;
const when = (id: string, done: (r: StallView) => boolean, what: string, timeoutMs: number) =>
  restoreWhen(server, id, (r) => done(r as StallView), what, timeoutMs) as Promise<StallView>;

describe("a copy restore that stops moving", () => {
  it(
    "kill -STOP of its mover: not stalled while it moved, stalled within the stall time, failed by the fail time",
    { timeout: 120_000 },
    async () => {
      const dest = "restored/stalled.raw";
      const r = await server.api<StallView>("POST", "/restores", {
        jobId: point.jobId,
        mode: "copy",
        destination: { path: dest, format: "raw" },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const id = r.body.id;
      const moving = await when(
        id,
        (x) => (x.disks[0].status === "transferring" && x.disks[0].pid !== null) || x.status !== "running",
        "to move",
        30_000,
      );
      expect(moving.status, moving.error ?? "").toBe("running");
      // A copy that moves (slowly: its zero areas are skipped, its 3 MiB of data take ~24 s) is
      // never stalled, watched for longer than the stall time.
      const watchUntil = Date.now() + (STALL + 2) * 1000;
      let moved = moving;
      while (Date.now() < watchUntil) {
        moved = await get(id);
        expect(moved.status, moved.error ?? "").toBe("running");
        expect(moved.disks[0].stalledSince).toBeNull();
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const mover = moved.disks[0].pid!;
      const comm = (await fs.readFile(`/proc/${mover}/comm`, "utf8")).trim();
      expect(comm).toBe("nbdcopy");
      process.kill(mover, "SIGSTOP");
      const stoppedAt = Date.now();
      const stalled = await when(
        id,
        (x) => x.disks[0].stalledSince !== null || x.status !== "running",
        "stalled",
        (STALL + 5) * 1000,
      );
      expect(stalled.status, stalled.error ?? "").toBe("running");
      expect(Date.parse(stalled.disks[0].stalledSince!)).toBeLessThanOrEqual(Date.now());

      const failed = await when(
        id,
        (x) => x.status !== "running",
        "to fail",
        (STALL_FAIL + 10) * 1000 - (Date.now() - stoppedAt),
      );
      expect(failed.status).toBe("failed");
      expect(failed.error).toMatch(new RegExp(`^disk sda: no progress for \\d+ s \\(mover pid ${mover}\\)$`));
      expect(failed.disks[0]).toMatchObject({ status: "failed", stalledSince: null, pid: null });
      expect(existsSync(path.join(server.dataDir, "sources", dest)), "the partial output must be removed").toBe(false);
      const ports = await server.api<{ allocations: unknown[] }>("GET", "/nbd/ports");
      expect(ports.body.allocations, "ports still held").toEqual([]);
      // processesOf lists stopped processes too: the stopped nbdcopy must have been killed.
      expect(await processesOf(path.join(server.dataDir, "run")), "processes left").toEqual([]);
    },
  );
});
