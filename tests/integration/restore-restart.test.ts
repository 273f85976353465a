// A restore running when the server is SIGKILLed ends failed ("interrupted by restart") at the
// next start, exactly like a backup: its port back, no qemu-nbd (nor nbdcopy) left, and the
// partial output of a copy removed.
import { existsSync, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { processesOf } from "../helpers/processes";
import { buildChain, restoreWhen, type Restore } from "../helpers/restore-chain";
import { ServerFleet } from "../helpers/server-fleet";
import { slowMoverDir } from "../helpers/slow-mover";

const fleet = new ServerFleet("restrestart");
let work: string | undefined;

afterAll(async () => {
  await fleet.end();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe("a restore cut off by a crash of the server", () => {
  it("ends failed at the next start, its port back and nothing left running", { timeout: 240_000 }, async () => {
    const bin = await slowMoverDir("1M");
    const first = await fleet.start({ PATH: `${bin}:${process.env.PATH}` }, { ports: 4 });
    work = await fs.mkdtemp(path.join(os.tmpdir(), "nbdhub-restore-restart-"));
    const [point] = await buildChain(first, "kvm", path.join(work, "snapshots"), 0);
    const runDir = path.join(first.dataDir, "run");

    const exported = await first.api<Restore>("POST", "/restores", { jobId: point.jobId, mode: "export" });
    expect(exported.status, JSON.stringify(exported.body)).toBe(202);
    const ready = await restoreWhen(first, exported.body.id, (r) => r.status === "ready", "to be served");
    await fs.mkdir(path.join(first.dataDir, "sources", "restored"), { recursive: true });
    const output = path.join(first.dataDir, "sources", "restored", "kvm.raw");
    const copying = await first.api<Restore>("POST", "/restores", {
      jobId: point.jobId,
      mode: "copy",
      destination: { path: "restored/kvm.raw" },
    });
    expect(copying.status, JSON.stringify(copying.body)).toBe(202);
    await restoreWhen(first, copying.body.id, (r) => r.disks[0].status === "transferring", "to copy");
    expect((await processesOf(runDir)).length, "qemu-nbd and nbdcopy run before the crash").toBeGreaterThanOrEqual(3);

    await first.kill();
    const second = await fleet.startAgain(first);
    for (const id of [ready.id, copying.body.id]) {
      const r = await second.api<Restore>("GET", `/restores/${id}`);
      expect(r.body.status, JSON.stringify(r.body)).toBe("failed");
      expect(r.body.error).toBe("interrupted by restart");
      expect(r.body.disks[0].status).toBe("failed");
    }
    const ports = await second.api<{ allocations: unknown[] }>("GET", "/nbd/ports");
    expect(ports.body.allocations, "ports of the restores must be back").toEqual([]);
    expect(await processesOf(runDir), "no qemu-nbd or nbdcopy of the restores may be left").toEqual([]);
    expect(existsSync(output), "the partial copy must be removed").toBe(false);
    const exportsNow = await second.api<{ count: number }>("GET", "/nbd/qemu-nbd");
    expect(exportsNow.body.count).toBe(0);
  });
});
