// Floods, growth and loose ends of issue 11 on the real server: anonymous refusals are
// aggregated in the audit trail (item 11), event streams are capped per caller and fed by one
// read per change (item 12), backups and the session key are private files (item 4), ended
// exports can be listed (?recent=), the jobs list filters by VM name prefix, and the console has
// its icons (public/).
import { execa } from "execa";
import { mkdir, mkdtemp, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { makeImage } from "../helpers/images";
import { freePortRange } from "../helpers/ports";
import { startServer, TEST_TOKEN, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";
import { createToken } from "./auth-support";

type AuditRow = {
  id: string;
  at: string;
  actor: string;
  action: string;
  status: number | null;
  clientIp: string | null;
  details: Record<string, unknown> | null;
};
type Job = {
  id: string;
  status: string;
  vmName: string;
  transferredBytes: number;
  disks: { diskId: string; status: string; targetPath: string; transferredBytes: number }[];
};
type StreamStats = { open: number; jobs: number; subscribers: number; reads: number; pending: number };

let server: TestServer;
let dbUrl: string;
let range: { min: number; max: number };
const dbs: string[] = [];
const servers: TestServer[] = [];

beforeAll(async () => {
  dbUrl = await createTestDatabase("floods");
  dbs.push(dbUrl);
  range = await freePortRange(4);
  // NBDHUB_TRUSTED_PROXIES: the test client speaks for the addresses it puts in X-Forwarded-For.
  server = await startServer({
    DATABASE_URL: dbUrl,
    NBDHUB_PORT_RANGE: `${range.min}-${range.max}`,
    NBDHUB_TRUSTED_PROXIES: "127.0.0.1",
  });
  servers.push(server);
  await makeImage(path.join(server.dataDir, "sources", "small.img"), { sizeMiB: 4, randomMiB: 1 });
}, 120_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  for (const url of dbs) await dropTestDatabase(url);
});

async function auditRows(query: string): Promise<AuditRow[]> {
  const r = await server.api<{ items: AuditRow[] }>("GET", `/audit?limit=500&${query}`);
  expect(r.status).toBe(200);
  return r.body.items;
}

const countOf = (row: AuditRow) => (typeof row.details?.count === "number" ? row.details.count : 1);

async function anonymous(method: string, pathname: string, address: string, body: unknown = {}): Promise<number> {
  const r = await fetch(`${server.url}/api/v1${pathname}`, {
    method,
    headers: { "content-type": "application/json", "x-forwarded-for": address },
    body: JSON.stringify(body),
  });
  await r.body?.cancel();
  return r.status;
}

/** Wait until at least `seconds` remain in this minute, so a few requests share one window. */
async function roomInThisMinute(seconds: number): Promise<void> {
  await waitFor(() => 60 - new Date().getSeconds() >= seconds, {
    timeoutMs: 70_000,
    intervalMs: 200,
    what: `${seconds} s left in the minute`,
  });
}

async function streamStats(): Promise<StreamStats> {
  const r = await server.api<{ eventStreams: StreamStats }>("GET", "/metrics");
  expect(r.status).toBe(200);
  return r.body.eventStreams;
}

type Sse = {
  status: number;
  events: { event: string; data: unknown }[];
  body?: unknown;
  ended: Promise<void>;
  done: boolean;
  abort(): void;
};

/** An event-stream client: collects the events until the server closes the stream or we abort. */
async function openStream(jobId: string, token: string): Promise<Sse> {
  const controller = new AbortController();
  const response = await fetch(`${server.url}/api/v1/backups/${jobId}/events`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  const sse: Sse = {
    status: response.status,
    events: [],
    ended: Promise.resolve(),
    done: true,
    abort: () => controller.abort(),
  };
  if (!response.headers.get("content-type")?.includes("text/event-stream")) {
    sse.body = await response.json();
    return sse;
  }
  sse.done = false;
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  sse.ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) sse.events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted by the test
    } finally {
      sse.done = true;
    }
  })();
  return sse;
}

const jobEvents = (sse: Sse) => sse.events.filter((e) => e.event === "job").map((e) => e.data as Job);

describe("refusals of anonymous callers in the audit trail (item 11)", () => {
  it("500 anonymous POSTs make a row per minute with their count, not 500 rows", { timeout: 180_000 }, async () => {
    const address = "198.51.100.7";
    const started = Date.now();
    let sent = 0;
    const statuses = new Set<number>();
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (sent < 500) {
          sent += 1;
          statuses.add(
            await anonymous("POST", "/nbd/ports/allocate", address, { jobId: "flood", vmName: "vm", exportName: "e" }),
          );
        }
      }),
    );
    const minutes = Math.floor(Date.now() / 60_000) - Math.floor(started / 60_000) + 1;
    expect([...statuses]).toEqual([401]);
    // The counts are written a moment after the refusals: wait for all 500.
    const rows = await waitFor(
      async () => {
        const found = (await auditRows("action=port.allocate&result=denied")).filter((r) => r.clientIp === address);
        return found.reduce((sum, r) => sum + countOf(r), 0) === 500 ? found : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: "the aggregated rows to count all 500 refusals" },
    );
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBeLessThanOrEqual(minutes);
    expect(rows[0]).toMatchObject({ actor: "anonymous", action: "port.allocate", status: 401 });
    expect(rows[0].details).toMatchObject({ code: "unauthenticated" });
  });

  it(
    "an address gets at most 10 kinds of refusal rows a minute; the rest are counted in one more row",
    { timeout: 120_000 },
    async () => {
      const address = "198.51.100.8";
      const attempts: [string, string][] = [
        ["POST", "/backups"],
        ["POST", "/backups/j1/cancel"],
        ["POST", "/backups/j1/complete"],
        ["POST", "/backups/j1/fail"],
        ["POST", "/backups/j1/disks/d0/progress"],
        ["POST", "/nbd/ports/allocate"],
        ["POST", "/nbd/ports/release"],
        ["POST", "/nbd/qemu-nbd/start"],
        ["POST", "/nbd/qemu-nbd/stop"],
        ["POST", "/users"],
        ["PATCH", "/users/someone"],
        ["DELETE", "/users/someone"],
        ["POST", "/tokens"],
        ["DELETE", "/tokens/something"],
      ];
      await roomInThisMinute(20);
      for (const [method, pathname] of attempts) expect(await anonymous(method, pathname, address)).toBe(401);
      const rows = await waitFor(
        async () => {
          const found = (await auditRows("actor=anonymous")).filter((r) => r.clientIp === address);
          return found.reduce((sum, r) => sum + countOf(r), 0) === attempts.length ? found : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: "the refusals of one address to be counted" },
      );
      const overflow = rows.filter((r) => r.action === "audit.refusals");
      expect(rows.length - overflow.length).toBe(10);
      expect(overflow).toHaveLength(1);
      expect(countOf(overflow[0])).toBe(attempts.length - 10);
    },
  );

  it("a signed-in caller's refusals keep one row each", async () => {
    const viewer = await createToken(server, "floods-viewer", "viewer");
    for (let i = 0; i < 3; i += 1) {
      const r = await fetch(`${server.url}/api/v1/nbd/ports/release`, {
        method: "POST",
        headers: { authorization: `Bearer ${viewer.token}`, "content-type": "application/json" },
        body: JSON.stringify({ jobId: `viewer-${i}` }),
      });
      expect(r.status).toBe(403);
    }
    const rows = await auditRows("actor=token:floods-viewer&action=port.release");
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.details?.count === undefined)).toBe(true);
  });
});

describe("event streams (item 12)", () => {
  it(
    "are capped per caller, fed by one read per change, and each gives its slot back once",
    { timeout: 180_000 },
    async () => {
      const created = await server.api<Job>("POST", "/backups", {
        vmName: "streams",
        type: "full",
        mover: "external",
        disks: [{ diskId: "d0", sizeBytes: 1024 * 1024 }],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(202);
      const id = created.body.id;
      await waitFor(async () => (await server.api<Job>("GET", `/backups/${id}`)).body.status === "running", {
        timeoutMs: 30_000,
        what: "the external job to run",
      });

      const streams: Sse[] = [];
      for (let i = 0; i < 8; i += 1) streams.push(await openStream(id, TEST_TOKEN));
      expect(streams.map((s) => s.status)).toEqual(Array(8).fill(200));
      // The ninth of the same caller is refused in the envelope; another caller still gets one.
      const ninth = await openStream(id, TEST_TOKEN);
      expect(ninth.status).toBe(429);
      expect(ninth.body).toMatchObject({ error: { code: "too_many_streams" } });
      const viewer = await createToken(server, "streams-viewer", "viewer");
      const other = await openStream(id, viewer.token);
      expect(other.status).toBe(200);
      streams.push(other);

      await waitFor(() => streams.every((s) => jobEvents(s).length > 0), {
        timeoutMs: 15_000,
        what: "every stream's first job event",
      });
      await waitFor(
        async () => {
          const s = await streamStats();
          return s.open === 9 && s.subscribers === 9 && s.pending === 0;
        },
        { timeoutMs: 15_000, what: "the streams to settle" },
      );
      const before = (await streamStats()).reads;

      const progress = await server.api("POST", `/backups/${id}/disks/d0/progress`, { transferredBytes: 65536 });
      expect(progress.status).toBe(200);
      await waitFor(() => streams.every((s) => jobEvents(s).some((j) => j.disks[0]?.transferredBytes === 65536)), {
        timeoutMs: 15_000,
        what: "every stream to see the progress",
      });
      await waitFor(async () => (await streamStats()).pending === 0, {
        timeoutMs: 15_000,
        what: "the broadcaster to be idle",
      });
      // One read for the nine streams (each stream reading for itself made nine).
      expect((await streamStats()).reads - before).toBe(1);

      // Clients that go away give their slots back, once each, and leave no error behind.
      for (const s of streams.slice(0, 8)) s.abort();
      await waitFor(async () => (await streamStats()).open === 1, {
        timeoutMs: 15_000,
        what: "the aborted streams to close",
      });
      const again = await openStream(id, TEST_TOKEN);
      expect(again.status).toBe(200);
      expect((await streamStats()).open).toBe(2);

      // The job ends: the remaining streams get `end` and are closed by the server.
      expect((await server.api("POST", `/backups/${id}/fail`, { message: "test over" })).status).toBe(200);
      for (const s of [again, other]) {
        await waitFor(() => s.done, { timeoutMs: 15_000, what: "the server to close the stream at the job's end" });
        expect(s.events.at(-1)).toEqual({ event: "end", data: { status: "failed" } });
      }
      await waitFor(
        async () => {
          const s = await streamStats();
          return s.open === 0 && s.jobs === 0 ? s : undefined;
        },
        { timeoutMs: 15_000, what: "no stream and no watched job left" },
      );
      expect(server.output()).not.toMatch(/unhandledRejection|ERR_INVALID_STATE|Invalid state/);
    },
  );
});

describe("files are private (item 4)", () => {
  it("a completed backup's folders are 0700 and its file 0600", { timeout: 120_000 }, async () => {
    const r = await server.api<Job>("POST", "/backups", {
      vmName: "private",
      type: "full",
      disks: [{ diskId: "d0", source: "small.img" }],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const done = await waitFor(
      async () => {
        const j = (await server.api<Job>("GET", `/backups/${r.body.id}`)).body;
        return ["completed", "failed", "cancelled"].includes(j.status) ? j : undefined;
      },
      { timeoutMs: 60_000, what: "the backup to end" },
    );
    expect(done.status).toBe("completed");
    const file = done.disks[0].targetPath;
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    expect((await mode(file)).toString(8)).toBe("600");
    const repository = path.join(server.dataDir, "repository");
    for (const dir of [path.dirname(file), path.dirname(path.dirname(file)), repository])
      expect((await mode(dir)).toString(8), dir).toBe("700");
  });

  it(
    "at start, a loose session key is made 0600 and reported, and existing backups are made private",
    { timeout: 120_000 },
    async () => {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-modes-"));
      await execa("chmod", ["755", dataDir]);
      await mkdir(path.join(dataDir, "secrets"), { mode: 0o755 });
      const key = path.join(dataDir, "secrets", "session-key");
      await writeFile(key, "k".repeat(48), { mode: 0o644 });
      await execa("chmod", ["644", key]);
      const old = path.join(dataDir, "repository", "oldvm", "d0");
      await mkdir(old, { recursive: true, mode: 0o755 });
      await execa("chmod", ["-R", "755", path.join(dataDir, "repository")]);
      await writeFile(path.join(old, "old.qcow2"), "x", { mode: 0o644 });
      await execa("chmod", ["644", path.join(old, "old.qcow2")]);

      const url = await createTestDatabase("modes");
      dbs.push(url);
      const second = await startServer({
        DATABASE_URL: url,
        NBDHUB_DATA_DIR: dataDir,
        NBDHUB_PORT_RANGE: `${range.min}-${range.max}`,
      });
      servers.push(second);
      const mode = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);
      expect(await mode(key)).toBe("600");
      expect(await mode(path.dirname(key))).toBe("700");
      expect(second.output()).toMatch(
        /the session key .*session-key had mode 0644 \(readable by others\); it is now 0600/,
      );
      expect(await mode(path.join(old, "old.qcow2"))).toBe("600");
      for (const dir of [old, path.dirname(old), path.join(dataDir, "repository")])
        expect(await mode(dir), dir).toBe("700");
      await second.stop();
    },
  );
});

describe("loose ends", () => {
  it(
    "GET /nbd/qemu-nbd?recent=SECONDS also lists exports that ended, so a crashed port shows",
    { timeout: 60_000 },
    async () => {
      const file = path.join(server.dataDir, "repository", "crash", "d0.qcow2");
      await mkdir(path.dirname(file), { recursive: true });
      await execa("qemu-img", ["create", "-q", "-f", "qcow2", file, "1M"]);
      const port = range.max;
      const started = await server.api<{ pid: number }>("POST", "/nbd/qemu-nbd/start", {
        port,
        exportName: "crash-d0",
        filePath: file,
        jobId: "crash-job",
        vmName: "crash",
        diskId: "d0",
      });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      process.kill(started.body.pid, "SIGKILL");
      await waitFor(
        async () => (await server.api<{ status: string }>("GET", `/nbd/qemu-nbd/${port}`)).body.status === "crashed",
        { timeoutMs: 15_000, what: "the export to be crashed" },
      );

      type List = {
        count: number;
        processes: { port: number; status: string; stoppedAt: string | null; jobId: string }[];
      };
      const live = await server.api<List>("GET", "/nbd/qemu-nbd");
      expect(live.body.processes.some((p) => p.jobId === "crash-job")).toBe(false);
      const recent = await server.api<List>("GET", "/nbd/qemu-nbd?recent=300");
      expect(recent.status).toBe(200);
      const crashed = recent.body.processes.find((p) => p.jobId === "crash-job");
      expect(crashed).toMatchObject({ port, status: "crashed" });
      expect(Date.now() - new Date(crashed!.stoppedAt!).getTime()).toBeLessThan(300_000);
      expect(recent.body.count).toBe(recent.body.processes.length);
      expect((await server.api("GET", "/nbd/qemu-nbd?recent=86401")).status).toBe(422);
    },
  );

  it("the jobs list filters by VM name prefix (and `_` is no wildcard)", async () => {
    const client = new pg.Client({ connectionString: dbUrl });
    await client.connect();
    try {
      for (const vm of ["web_01", "web101", "webx", "db1"]) {
        await client.query(
          `INSERT INTO backup_jobs (id, node, vm_name, type, status) VALUES ($1, 'n1', $2, 'full', 'completed')`,
          [`prefix-${vm}`, vm],
        );
      }
    } finally {
      await client.end();
    }
    const names = async (query: string) => {
      const r = await server.api<{ items: Job[] }>("GET", `/backups?${query}`);
      expect(r.status).toBe(200);
      return r.body.items
        .map((j) => j.vmName)
        .filter((n) => ["web_01", "web101", "webx", "db1"].includes(n))
        .sort();
    };
    expect(await names("vmNamePrefix=web")).toEqual(["web101", "web_01", "webx"]);
    expect(await names("vmNamePrefix=web_")).toEqual(["web_01"]);
    expect(await names("vmName=web")).toEqual([]);
    expect(await names("vmName=webx")).toEqual(["webx"]);
    expect((await server.api("GET", "/backups?vmNamePrefix=%25")).status).toBe(422);
  });

  it("serves the favicon and the app icons from public/, and pages link them", async () => {
    for (const [file, type] of [
      ["/favicon.ico", "image/x-icon"],
      ["/icon.svg", "image/svg+xml"],
      ["/apple-touch-icon.png", "image/png"],
      ["/site.webmanifest", "application/manifest+json"],
    ]) {
      const r = await fetch(`${server.url}${file}`, { redirect: "manual" });
      expect(r.status, file).toBe(200);
      expect(r.headers.get("content-type"), file).toContain(type);
      await r.body?.cancel();
    }
    const page = await (await fetch(`${server.url}/login`)).text();
    expect(page).toMatch(/<link rel="icon" href="\/favicon.ico"/);
    expect(page).toMatch(/<link rel="apple-touch-icon" href="\/apple-touch-icon.png"/);
  });
});
