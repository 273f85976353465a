// qemu-nbd exports through the HTTP API of the real server: what an export serves (checked
// with nbdinfo, nbdcopy and qemu-img), a crash noticed from the process's exit, bad input refused
// without a trace, and the metrics.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Allocation, ExportInfo } from "@/lib/nbd/types";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { killQemuNbdUnder, makeQcow2, nbdinfo, qemuNbdUnder } from "./nbd-helpers";

type ErrorBody = { error: { code: string; message: string; details?: Record<string, string> } };
type Pool = { range: { min: number; max: number }; total: number; allocated: number; allocations: Allocation[] };

let server: TestServer;
let url: string;
let range: { min: number; max: number };
let repo: string;
const tempDirs: string[] = [];
const tempDir = async (prefix: string) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
};

beforeAll(async () => {
  url = await createTestDatabase("nbdapi");
  range = await freePortRange(6);
  server = await startServer({ DATABASE_URL: url, NBDHUB_PORT_RANGE: `${range.min}-${range.max}` });
  repo = path.join(server.dataDir, "repository");
});
afterAll(async () => {
  await server?.stop();
  expect(await killQemuNbdUnder(server.dataDir)).toBe(0);
  await dropTestDatabase(url);
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function rowCount(table: "nbd_exports" | "port_allocations"): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  } finally {
    await client.end();
  }
}

const start = (body: Record<string, unknown>) =>
  server.api<ExportInfo & ErrorBody>("POST", "/nbd/qemu-nbd/start", body);
const disk = (over: Record<string, unknown> = {}) => ({
  port: range.min,
  exportName: "vm1-disk0",
  filePath: "vm1/disk0.qcow2",
  jobId: "job-1",
  vmName: "vm1",
  diskId: "disk0",
  ...over,
});

describe("qemu-nbd exports over the API", () => {
  it("serves the image: nbdinfo sees it, and what nbdcopy writes is in the qcow2 afterwards", async () => {
    const target = await makeQcow2(path.join(repo, "vm1", "disk0.qcow2"), "16M");
    // A source with data in two places and zeros elsewhere.
    const source = path.join(await tempDir("nbdhub-src-"), "disk.raw");
    const fh = await open(source, "w");
    await fh.truncate(16 * 1024 * 1024);
    await fh.write(randomBytes(1024 * 1024), 0, 1024 * 1024, 0);
    await fh.write(randomBytes(512 * 1024), 0, 512 * 1024, 9 * 1024 * 1024);
    await fh.close();

    const started = await start(disk());
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({
      port: range.min,
      exportName: "vm1-disk0",
      status: "ready",
      jobId: "job-1",
      diskId: "disk0",
      uri: `nbd://127.0.0.1:${range.min}/vm1-disk0`,
    });
    expect(started.body.pid).toBeGreaterThan(0);

    const info = await nbdinfo(started.body.uri);
    expect(info.exports).toHaveLength(1);
    expect(info.exports[0]).toMatchObject({
      "export-name": "vm1-disk0",
      "export-size": 16 * 1024 * 1024,
      is_read_only: false,
    });

    expect((await server.api<{ count: number; processes: ExportInfo[] }>("GET", "/nbd/qemu-nbd")).body).toMatchObject({
      count: 1,
      processes: [{ port: range.min, status: "ready" }],
    });
    expect((await server.api<ExportInfo>("GET", `/nbd/qemu-nbd/${range.min}`)).body).toMatchObject({
      status: "ready",
      pid: started.body.pid,
    });
    expect((await server.api<Allocation>("GET", `/nbd/ports/${range.min}`)).body).toMatchObject({
      port: range.min,
      jobId: "job-1",
      exportName: "vm1-disk0",
    });

    await execa("nbdcopy", ["--flush", source, started.body.uri]);
    const stopped = await server.api<{ stopped: number[] }>("POST", "/nbd/qemu-nbd/stop", { port: range.min });
    expect(stopped).toMatchObject({ status: 200, body: { stopped: [range.min], unclean: [] } });
    expect(await qemuNbdUnder(server.dataDir)).toEqual([]);
    expect((await server.api<ExportInfo>("GET", `/nbd/qemu-nbd/${range.min}`)).body).toMatchObject({
      status: "stopped",
      exitCode: 0,
    });
    expect((await server.api("GET", `/nbd/ports/${range.min}`)).status).toBe(404);
    await execa("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", source, target]);
  });

  it("a qemu-nbd killed with SIGKILL shows crashed and frees its port, from its exit alone", async () => {
    await makeQcow2(path.join(repo, "crash.qcow2"));
    const started = await start(disk({ port: range.min + 1, exportName: "crash", filePath: "crash.qcow2" }));
    expect(started.status).toBe(201);
    process.kill(started.body.pid!, "SIGKILL");
    await waitFor(
      async () => {
        const [exp, alloc] = await Promise.all([
          server.api<ExportInfo>("GET", `/nbd/qemu-nbd/${range.min + 1}`),
          server.api("GET", `/nbd/ports/${range.min + 1}`),
        ]);
        return exp.body.status === "crashed" && alloc.status === 404;
      },
      // Nothing polls live exports: only the exit handler can mark it. The deadline is for a loaded
      // machine (1 s failed under load 20 with 3 test runs side by side), not a speed claim.
      { timeoutMs: 15_000, intervalMs: 20, what: "the export to show crashed and its port to be free" },
    );
    const crashed = (await server.api<ExportInfo>("GET", `/nbd/qemu-nbd/${range.min + 1}`)).body;
    expect(crashed.error).toMatch(/SIGKILL/);
    expect((await server.api<{ count: number }>("GET", "/nbd/qemu-nbd")).body.count).toBe(0);
  });

  it("refuses bad input with a clear 4xx and changes nothing", async () => {
    const exportsBefore = await rowCount("nbd_exports");
    await writeFile(path.join(repo, "raw.img"), Buffer.alloc(1024 * 1024));
    const outside = await tempDir("nbdhub-outside-");
    await makeQcow2(path.join(outside, "other.qcow2"));
    await mkdir(path.join(repo, "links"), { recursive: true });
    await symlink(path.join(outside, "other.qcow2"), path.join(repo, "links", "out.qcow2"));
    await makeQcow2(path.join(repo, "ok.qcow2"));

    const cases: [string, unknown, number, string, RegExp?][] = [
      ["a non-qcow2 file", disk({ filePath: "raw.img" }), 422, "qemu_nbd_refused", /Image is not in qcow2 format/],
      ["a missing file", disk({ filePath: "nope.qcow2" }), 422, "file_not_found", /does not exist/],
      [
        "a path outside the repository",
        disk({ filePath: path.join(outside, "other.qcow2") }),
        422,
        "path_not_allowed",
        /outside/,
      ],
      ["a relative escape", disk({ filePath: "../../../../etc/passwd" }), 422, "path_not_allowed"],
      ["a symlink out of the repository", disk({ filePath: "links/out.qcow2" }), 422, "path_not_allowed"],
      [
        "an export name with a space",
        disk({ filePath: "ok.qcow2", exportName: "vm1 disk0" }),
        422,
        "validation_failed",
        /exportName/,
      ],
      [
        "shell characters in a name",
        disk({ filePath: "ok.qcow2", vmName: "vm1;rm -rf /" }),
        422,
        "validation_failed",
        /vmName/,
      ],
      ["a port as a string", disk({ filePath: "ok.qcow2", port: "10100" }), 422, "validation_failed", /port/],
      [
        "a port outside the pool",
        disk({ filePath: "ok.qcow2", port: range.max + 1 }),
        422,
        "port_out_of_range",
        /outside the pool range/,
      ],
      ["readOnly as a string", disk({ filePath: "ok.qcow2", readOnly: "yes" }), 422, "validation_failed", /readOnly/],
      ["an unknown field", disk({ filePath: "ok.qcow2", readonly: true }), 422, "validation_failed"],
      ["a missing field", { port: range.min, exportName: "x" }, 422, "validation_failed", /filePath/],
      ["invalid JSON", "{not json", 400, "invalid_json"],
      ["a JSON array", "[]", 422, "validation_failed"],
    ];
    for (const [what, body, status, code, message] of cases) {
      const r = await start(body as Record<string, unknown>);
      expect({ what, status: r.status, code: r.body.error?.code }).toEqual({ what, status, code });
      expect(r.body.error.message.length).toBeGreaterThan(5);
      if (message) expect(r.body.error.message).toMatch(message);
    }
    const other: [string, string, unknown, number, string][] = [
      ["release a port nobody holds", "/nbd/ports/release", { port: range.min + 2 }, 404, "not_found"],
      [
        "release with both port and job",
        "/nbd/ports/release",
        { port: range.min, jobId: "j" },
        422,
        "validation_failed",
      ],
      ["release with neither", "/nbd/ports/release", {}, 422, "validation_failed"],
      ["stop a port with no export", "/nbd/qemu-nbd/stop", { port: range.min + 2 }, 404, "not_found"],
      [
        "allocate with a bad job id",
        "/nbd/ports/allocate",
        { jobId: "-x", vmName: "vm", exportName: "e" },
        422,
        "validation_failed",
      ],
      [
        "allocate with a number for a name",
        "/nbd/ports/allocate",
        { jobId: "j", vmName: 5, exportName: "e" },
        422,
        "validation_failed",
      ],
    ];
    for (const [what, route, body, status, code] of other) {
      const r = await server.api<ErrorBody>("POST", route, body);
      expect({ what, status: r.status, code: r.body.error?.code }).toEqual({ what, status, code });
    }
    for (const p of ["/nbd/ports/99999", "/nbd/ports/abc", "/nbd/qemu-nbd/0"])
      expect((await server.api("GET", p)).status).toBe(422);
    expect((await server.api<ErrorBody>("GET", `/nbd/ports/${range.min + 3}`)).status).toBe(404);
    expect((await server.api<ErrorBody>("GET", `/nbd/qemu-nbd/${range.min + 3}`)).status).toBe(404);

    expect(await rowCount("nbd_exports")).toBe(exportsBefore);
    expect(await rowCount("port_allocations")).toBe(0);
    expect(await qemuNbdUnder(server.dataDir)).toEqual([]);
  });

  it("refuses a second export on a busy port with 409 port_in_use, leaving the first untouched", async () => {
    await makeQcow2(path.join(repo, "one.qcow2"));
    await makeQcow2(path.join(repo, "two.qcow2"));
    const first = await start(disk({ port: range.min + 2, exportName: "one", filePath: "one.qcow2" }));
    expect(first.status).toBe(201);
    const second = await start(disk({ port: range.min + 2, exportName: "two", filePath: "two.qcow2" }));
    expect(second).toMatchObject({ status: 409, body: { error: { code: "port_in_use" } } });
    const stopped = await server.api("POST", "/nbd/qemu-nbd/stop", { jobId: "job-1" });
    expect(stopped).toMatchObject({ status: 200, body: { stopped: [range.min + 2] } });
    expect(await qemuNbdUnder(server.dataDir)).toEqual([]);
  });

  it("reports pool and export metrics as JSON and in the Prometheus format", async () => {
    const j = await server.api<{
      ports: Pool;
      exports: {
        active: number;
        byStatus: Record<string, number>;
        crashesTotal: number;
        startLatency: { count: number };
      };
    }>("GET", "/metrics");
    expect(j.status).toBe(200);
    expect(j.body.ports).toMatchObject({ total: 6, allocated: 0, available: 6, utilizationPercent: 0 });
    expect(j.body.exports).toMatchObject({ active: 0, crashesTotal: 1, byStatus: { crashed: 1, stopped: 2 } });
    expect(j.body.exports.startLatency.count).toBe(3);
    const r = await fetch(`${server.url}/api/v1/metrics/prometheus`, {
      headers: { authorization: `Bearer ${server.env.NBDHUB_BOOTSTRAP_TOKEN}` },
    });
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(text).toMatch(/^nbdhub_port_pool_size 6$/m);
    expect(text).toMatch(/^nbdhub_exports\{status="crashed"\} 1$/m);
    expect(text).toMatch(/^nbdhub_export_crashes_total 1$/m);
    expect(text).toMatch(/^nbdhub_export_start_seconds_count 3$/m);
  });
});
