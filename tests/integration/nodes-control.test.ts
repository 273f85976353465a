// Cross-node control (issue 18, decision 030): two hubs on one Postgres; a cancel, a stop or a
// release sent to node A for node B's job, export or port is done by node B (asked through
// LISTEN/NOTIFY) and answered by A as B would answer it: the job ends within 5 s, B's qemu-nbd
// for it is gone, its ports are free. A request for a lost node's things is refused (409
// node_lost): nobody is there to act, the recovery of lost nodes ends its jobs.
import { afterAll, describe, expect, it } from "vitest";
import type { BackupJobView } from "@/lib/backup/serialize";
import type { Allocation, ExportInfo } from "@/lib/nbd/types";
import type { NodeList } from "@/lib/api/schemas/nodes";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { externalJob } from "../helpers/external-job";
import { killQemuNbdUnder, qemuNbdUnder } from "./nbd-helpers";

type ErrorBody = { error: { code: string; message: string; details?: { node?: string } } };

const servers: TestServer[] = [];
let url: string;
afterAll(async () => {
  for (const s of servers) await s.kill();
  // Node B was killed with an export running: that qemu-nbd is ours to end now.
  for (const s of servers) await killQemuNbdUnder(s.dataDir);
  if (url) await dropTestDatabase(url);
});

describe("cross-node control", () => {
  it("a cancel, stop or release sent to node A acts on node B; a lost node's are refused", async () => {
    url = await createTestDatabase("nodes_control");
    const range = await freePortRange(4);
    const common = {
      DATABASE_URL: url,
      NBDHUB_PORT_RANGE: `${range.min}-${range.max}`,
      NBDHUB_NODE_HEARTBEAT_SECONDS: "1",
      NBDHUB_NODE_LEASE_SECONDS: "3",
    };
    const a = await startServer({ ...common, NBDHUB_NODE_NAME: "node-a" });
    servers.push(a);
    const b = await startServer({ ...common, NBDHUB_NODE_NAME: "node-b" });
    servers.push(b);

    // Two running external jobs on B, each with a real qemu-nbd under B's data directory.
    const started = await Promise.all(
      ["vm-1", "vm-2"].map((vm) => b.api<BackupJobView>("POST", "/backups", externalJob(vm))),
    );
    for (const r of started) expect(r.status, JSON.stringify(r.body)).toBe(202);
    const [job1, job2] = started.map((r) => r.body);
    expect([job1.node, job2.node]).toEqual(["node-b", "node-b"]);
    const exportsOfB = async () =>
      (await b.api<{ processes: ExportInfo[] }>("GET", "/nbd/qemu-nbd")).body.processes.filter(
        (e) => e.node === "node-b",
      );
    const [export1] = (await exportsOfB()).filter((e) => e.jobId === job1.id);
    expect((await qemuNbdUnder(b.dataDir)).map((p) => p.pid)).toContain(export1.pid);

    // Cancel sent to A: answered as B answers it (202, the job cancelled), within 5 s.
    const t0 = Date.now();
    const cancelled = await a.api<BackupJobView>("POST", `/backups/${job1.id}/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(202);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect([cancelled.body.node, cancelled.body.status]).toEqual(["node-b", "cancelled"]);
    for (const s of [a, b])
      expect((await s.api<BackupJobView>("GET", `/backups/${job1.id}`)).body.status).toBe("cancelled");
    // B's process for it is gone, its port is free; B's log says A asked.
    expect((await qemuNbdUnder(b.dataDir)).map((p) => p.pid)).not.toContain(export1.pid);
    const poolOfB = (await b.api<{ allocations: Allocation[] }>("GET", "/nbd/ports")).body.allocations;
    expect(poolOfB.filter((p) => p.jobId === job1.id)).toEqual([]);
    expect(b.output()).toMatch(/node node-a asked for backup\.cancel/);
    // A second cancel, again through A: B's own answer, 409 job_finished.
    const again = await a.api<ErrorBody>("POST", `/backups/${job1.id}/cancel`);
    expect([again.status, again.body.error.code]).toEqual([409, "job_finished"]);

    // A port B holds, released through A; then the same port again: B's 404.
    const held = await b.api<Allocation>("POST", "/nbd/ports/allocate", {
      jobId: "held",
      vmName: "vm",
      exportName: "e",
    });
    expect(held.status).toBe(201);
    const release = { port: held.body.port, node: "node-b" };
    expect(await a.api("POST", "/nbd/ports/release", release)).toMatchObject({
      status: 200,
      body: { released: [held.body.port] },
    });
    expect((await b.api("GET", `/nbd/ports/${held.body.port}`)).status).toBe(404);
    expect((await a.api("POST", "/nbd/ports/release", release)).status).toBe(404);

    // Job 2's export stopped through A: B's qemu-nbd exits before A answers.
    const [export2] = (await exportsOfB()).filter((e) => e.jobId === job2.id);
    const stop = await a.api<{ stopped: number[] }>("POST", "/nbd/qemu-nbd/stop", {
      port: export2.port,
      node: "node-b",
    });
    expect([stop.status, stop.body.stopped]).toEqual([200, [export2.port]]);
    expect((await qemuNbdUnder(b.dataDir)).map((p) => p.pid)).not.toContain(export2.pid);
    // (An export stopped by request is an expected exit: the external job still runs.)
    expect((await a.api<BackupJobView>("GET", `/backups/${job2.id}`)).body.status).toBe("running");

    // B dies with job 2 running: once A sees it lost, a cancel through A is refused.
    await b.kill();
    await waitFor(
      async () =>
        (await a.api<NodeList>("GET", "/nodes")).body.items.find((n) => n.name === "node-b")?.status === "lost",
      { timeoutMs: 15_000, what: "node B to show as lost on node A" },
    );
    const refused = await a.api<ErrorBody>("POST", `/backups/${job2.id}/cancel`);
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.error.code).toBe("node_lost");
    expect(refused.body.error.message).toContain('node "node-b" is lost');
    expect(refused.body.error.details?.node).toBe("node-b");
    expect(await a.stop()).toBe(143);
  });
});
