// The server killed with SIGKILL while exports run, then started again on the same database
// and data directory: rows, processes and ports must agree, with no orphan qemu-nbd. Then an
// orderly SIGTERM stops every export.
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { Allocation, ExportInfo } from "@/lib/nbd/types";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { killQemuNbdUnder, makeQcow2, nbdinfo, qemuNbdUnder } from "./nbd-helpers";

type List = { count: number; processes: ExportInfo[] };
type Pool = { allocations: Allocation[] };

const servers: TestServer[] = [];
let url: string;
afterAll(async () => {
  for (const s of servers) await s.kill();
  if (servers[0]) expect(await killQemuNbdUnder(servers[0].dataDir)).toBe(0);
  if (url) await dropTestDatabase(url);
});

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("a server that dies and comes back", () => {
  it("after SIGKILL, a restart adopts what still runs, marks what died, ends orphans; SIGTERM then stops everything", async () => {
    url = await createTestDatabase("nbdrestart");
    const range = await freePortRange(5);
    const env = { DATABASE_URL: url, NBDHUB_PORT_RANGE: `${range.min}-${range.max}` };
    const first = await startServer(env);
    servers.push(first);
    const repo = path.join(first.dataDir, "repository");
    const started: ExportInfo[] = [];
    for (const name of ["a", "b", "c"]) {
      await makeQcow2(path.join(repo, `${name}.qcow2`));
      const r = await first.api<ExportInfo>("POST", "/nbd/qemu-nbd/start", {
        port: range.min + started.length,
        exportName: name,
        filePath: `${name}.qcow2`,
        jobId: "job-1",
        vmName: "vm",
        diskId: name,
      });
      expect(r.status).toBe(201);
      started.push(r.body);
    }

    await first.kill();
    // qemu-nbd runs in its own process group: the server's death does not take it along.
    expect((await qemuNbdUnder(first.dataDir)).map((p) => p.pid).sort()).toEqual(started.map((s) => s.pid).sort());
    // One export dies while nobody watches.
    process.kill(started[2].pid!, "SIGKILL");
    await waitFor(async () => (await qemuNbdUnder(first.dataDir)).length === 2, {
      what: "the killed qemu-nbd to be gone",
    });

    const second = await startServer({ ...env, NBDHUB_DATA_DIR: first.dataDir });
    servers.push(second);
    const list = (await second.api<List>("GET", "/nbd/qemu-nbd")).body;
    expect(list.processes.map((p) => [p.port, p.status, p.pid])).toEqual([
      [range.min, "ready", started[0].pid],
      [range.min + 1, "ready", started[1].pid],
    ]);
    expect((await second.api<ExportInfo>("GET", `/nbd/qemu-nbd/${range.min + 2}`)).body).toMatchObject({
      status: "crashed",
    });
    // Rows, processes and ports agree.
    const live = (await qemuNbdUnder(first.dataDir)).map((p) => p.pid).sort();
    expect(live).toEqual(list.processes.map((p) => p.pid).sort());
    expect((await second.api<Pool>("GET", "/nbd/ports")).body.allocations.map((a) => a.port)).toEqual([
      range.min,
      range.min + 1,
    ]);
    expect(second.output()).toMatch(/adopted qemu-nbd on port/);
    // The adopted exports still serve.
    expect((await nbdinfo(started[0].uri)).exports[0]["export-name"]).toBe("a");

    // A new export next to the adopted ones, then an orderly stop.
    await makeQcow2(path.join(repo, "d.qcow2"));
    const d = await second.api<ExportInfo>("POST", "/nbd/qemu-nbd/start", {
      port: range.min + 3,
      exportName: "d",
      filePath: "d.qcow2",
      jobId: "job-2",
      vmName: "vm",
      diskId: "d",
    });
    expect(d.status).toBe(201);
    expect(await second.stop()).toBe(143);
    expect(await qemuNbdUnder(first.dataDir)).toEqual([]);
    const after = await rows(`SELECT port, status FROM nbd_exports ORDER BY port`);
    expect(after).toEqual([
      { port: range.min, status: "stopped" },
      { port: range.min + 1, status: "stopped" },
      { port: range.min + 2, status: "crashed" },
      { port: range.min + 3, status: "stopped" },
    ]);
    expect(await rows(`SELECT port FROM port_allocations`)).toEqual([]);
  });
});
