// The port pool through the HTTP API of the real server: 50 requests at once, a pool that
// runs dry with a clear 409 and recovers, and a port some other program listens on.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Allocation } from "@/lib/nbd/types";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { startServer, TEST_TOKEN, type TestServer } from "../helpers/server";

type ErrorBody = { error: { code: string; message: string } };
type Pool = {
  range: { min: number; max: number };
  total: number;
  allocated: number;
  available: number;
  utilizationPercent: number;
  allocations: Allocation[];
};

const SIZE = 56;
let server: TestServer;
let url: string;
let range: { min: number; max: number };
let foreign: net.Server;
const foreignPort = () => range.min + 3;

beforeAll(async () => {
  url = await createTestDatabase("nbdpool");
  range = await freePortRange(SIZE);
  // Another program listening inside the pool's range.
  foreign = net.createServer();
  await new Promise<void>((resolve) => foreign.listen(foreignPort(), "127.0.0.1", resolve));
  server = await startServer({ DATABASE_URL: url, NBDHUB_PORT_RANGE: `${range.min}-${range.max}` });
});
afterAll(async () => {
  await server?.stop();
  await new Promise((resolve) => foreign?.close(resolve));
  await dropTestDatabase(url);
});

const allocate = (i: number, jobId = `job-${i % 7}`) =>
  server.api<Allocation & ErrorBody>("POST", "/nbd/ports/allocate", {
    jobId,
    vmName: `vm${i}`,
    exportName: `vm${i}-disk0`,
  });

describe("the port pool over the API", () => {
  it("gives 50 concurrent requests 50 distinct ports, never the one another program listens on; runs dry with a 409; recovers", async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => allocate(i)));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(201));
    const ports = answers.map((a) => a.body.port);
    expect(new Set(ports).size).toBe(50);
    expect(ports).not.toContain(foreignPort());
    for (const p of ports) expect(p >= range.min && p <= range.max).toBe(true);

    // The rest of the range, minus the foreign port: 56 - 50 - 1 = 5 more.
    for (let i = 50; i < 55; i += 1) expect((await allocate(i, "late")).status).toBe(201);
    const dry = await allocate(99, "late");
    expect(dry.status).toBe(409);
    expect(dry.body.error.code).toBe("port_pool_exhausted");
    expect(dry.body.error.message).toMatch(
      new RegExp(`no free port in ${range.min}-${range.max}.*55 of 56 allocated.*1 in use by other programs`),
    );

    const pool = await server.api<Pool>("GET", "/nbd/ports");
    expect(pool.body).toMatchObject({ range, total: SIZE, allocated: 55, available: 1, utilizationPercent: 98.2 });
    expect(pool.body.allocations).toHaveLength(55);
    expect(pool.body.allocations.map((a) => a.port)).toEqual(
      [...pool.body.allocations.map((a) => a.port)].sort((a, b) => a - b),
    );

    // Recovery: a released port is handed out again; a job's ports go back at once.
    const one = ports[10];
    expect(await server.api("POST", "/nbd/ports/release", { port: one })).toMatchObject({
      status: 200,
      body: { released: [one] },
    });
    expect((await server.api("POST", "/nbd/ports/release", { port: one })).status).toBe(404);
    const again = await allocate(100, "again");
    expect(again).toMatchObject({ status: 201, body: { port: one, jobId: "again" } });
    const late = await server.api<{ released: number[] }>("POST", "/nbd/ports/release", { jobId: "late" });
    expect(late.status).toBe(200);
    expect(late.body.released).toHaveLength(5);
    expect((await server.api<Pool>("GET", "/nbd/ports")).body).toMatchObject({ allocated: 50, available: 6 });
    expect((await allocate(101, "after")).status).toBe(201);

    const all = await server.api<{ released: number[] }>("POST", "/nbd/ports/release", { jobId: "job-3" });
    expect(all.body.released.length).toBeGreaterThan(0);
    for (const p of all.body.released) expect((await server.api("GET", `/nbd/ports/${p}`)).status).toBe(404);
    expect((await server.api("POST", "/nbd/ports/release", { jobId: "nobody" })).body).toEqual({ released: [] });
  });

  it("sends an answer under 1 KiB as it is to a client that accepts gzip, and a larger one gzipped", async () => {
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${TEST_TOKEN}`,
          "accept-encoding": "gzip",
          "content-type": "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const small = await call("POST", "/nbd/ports/allocate", { jobId: "gzip", vmName: "vm", exportName: "e" });
    expect(small.status).toBe(201);
    expect(small.headers.get("content-encoding")).toBeNull();
    expect(small.headers.get("cache-control")).toBe("no-store, no-transform");
    expect((await small.json()) as Allocation).toMatchObject({ jobId: "gzip" });

    const large = await call("GET", "/nbd/ports");
    expect(large.status).toBe(200);
    expect(large.headers.get("content-encoding")).toBe("gzip");
    expect(large.headers.get("cache-control")).toBe("no-store");
    expect(((await large.json()) as Pool).allocations.length).toBeGreaterThan(10);
  });
});
