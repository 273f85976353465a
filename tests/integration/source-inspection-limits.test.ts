// Issue 11, item 14: GET /sources and POST /backups cannot start unbounded qemu-img / nbdinfo
// runs. At most 4 inspections run at once server-wide, a bounded number wait, the rest are
// answered 503 busy with Retry-After; every run has a time limit; GET /sources lists at most
// 500 images (sorted, `truncated` says when there were more) and remembers what it inspected.
import { promises as fs } from "node:fs";
import net from "node:net";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { filesUnder } from "../helpers/images";
import { freePortRange } from "../helpers/ports";
import { startServer, TEST_TOKEN, type TestServer } from "../helpers/server";
import { withDeadline } from "../helpers/wait";

type SourceItem = { path: string; name: string; format: string; virtualSize: number };
type SourceList = { items: SourceItem[]; truncated: boolean };
type Inspections = { limit: number; running: number; queued: number; peak: number; runs: number; rejected: number };
type ErrorBody = { error: { code: string; message: string } };

const LIMIT = 4;
const QCOW_LISTED = 40;
const QCOW_POSTED = 24;
const RAW = 480;

let server: TestServer;
let dbUrl: string;
let sources: string;
let silent: net.Server;
let silentPort: number;
const silentSockets = new Set<net.Socket>();
const pad = (i: number) => String(i).padStart(3, "0");
const MiB = 1024 * 1024;

beforeAll(async () => {
  dbUrl = await createTestDatabase("inspect");
  const range = await freePortRange(4);
  server = await startServer({ DATABASE_URL: dbUrl, NBDHUB_PORT_RANGE: `${range.min}-${range.max}` });
  sources = path.join(server.dataDir, "sources");
  const many = path.join(sources, "many");
  const posted = path.join(sources, "posted");
  await fs.mkdir(many, { recursive: true });
  await fs.mkdir(posted, { recursive: true });
  // qcow2 images sort first ("q-…" before "r-…"), so every listing inspects all of them.
  const creates: Promise<unknown>[] = [];
  const qcow2 = (file: string, size: string) => execa("qemu-img", ["create", "-q", "-f", "qcow2", file, size]);
  for (let i = 0; i < QCOW_LISTED; i += 1) creates.push(qcow2(path.join(many, `q-${pad(i)}.qcow2`), `${i + 1}M`));
  for (let i = 0; i < QCOW_POSTED; i += 1) creates.push(qcow2(path.join(posted, `p-${pad(i)}.qcow2`), "1M"));
  await Promise.all(creates.splice(0, 16));
  await Promise.all(creates);
  for (let i = 0; i < RAW; i += 1) {
    const h = await fs.open(path.join(many, `r-${pad(i)}.img`), "w");
    await h.truncate(1024 * 1024);
    await h.close();
  }
  // An NBD "server" that accepts and never answers: an inspection of it hangs until its limit.
  silent = net.createServer((socket) => {
    silentSockets.add(socket);
    socket.on("close", () => silentSockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  silentPort = (silent.address() as net.AddressInfo).port;
}, 180_000);

afterAll(async () => {
  for (const s of silentSockets) s.destroy();
  silent?.close();
  await server?.stop();
  if (dbUrl) await dropTestDatabase(dbUrl);
});

/** Counts this server's qemu-img and nbdinfo processes every few ms; `max` is the most seen at once. */
function watchInspections() {
  let max = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      let now = 0;
      for (const pid of (await fs.readdir("/proc")).filter((e) => /^\d+$/.test(e))) {
        const comm = (await fs.readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
        if (comm !== "qemu-img" && comm !== "nbdinfo") continue;
        const cmdline = (await fs.readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0))).toString();
        if (cmdline.includes(server.dataDir) || cmdline.includes(`:${silentPort}/`)) now += 1;
      }
      max = Math.max(max, now);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return max;
    },
  };
}

async function inspections(): Promise<Inspections> {
  const r = await server.api<{ inspections?: Inspections }>("GET", "/metrics");
  expect(r.body.inspections, "GET /metrics reports the inspections").toBeDefined();
  return r.body.inspections!;
}

function expectListing(list: SourceList) {
  expect(list.items).toHaveLength(500);
  expect(list.truncated).toBe(true);
  const paths = list.items.map((i) => i.path);
  expect(paths).toEqual([...paths].sort());
  const qcows = list.items.filter((i) => i.format === "qcow2");
  expect(qcows).toHaveLength(QCOW_LISTED);
  qcows.forEach((q, i) => expect(q).toMatchObject({ path: `many/q-${pad(i)}.qcow2`, virtualSize: (i + 1) * MiB }));
}

describe("bounded source inspection", () => {
  it("a burst of GET /sources and POST /backups runs at most 4 inspections at once, and answers right", async () => {
    const watcher = watchInspections();
    const disks = Array.from({ length: QCOW_POSTED }, (_, i) => ({ source: `posted/p-${pad(i)}.qcow2` }));
    const body = { vmName: "burst", type: "full", disks: [...disks, { source: "posted/none.img" }] };
    // The last disk does not exist: the answer is a 422 after every disk was looked at.
    const [lists, posts] = await withDeadline(
      Promise.all([
        Promise.all(Array.from({ length: 8 }, () => server.api<SourceList>("GET", "/sources"))),
        Promise.all(Array.from({ length: 2 }, () => server.api<ErrorBody>("POST", "/backups", body))),
      ]),
      90_000,
      "the burst to be answered",
    );
    const max = await watcher.stop();
    for (const l of lists) {
      expect(l.status, JSON.stringify(l.body).slice(0, 300)).toBe(200);
      expectListing(l.body);
    }
    for (const p of posts) {
      expect(p.status, JSON.stringify(p.body).slice(0, 300)).toBe(422);
      expect(p.body.error.code).toBe("file_not_found");
    }
    expect(max, "qemu-img/nbdinfo processes seen at once").toBeLessThanOrEqual(LIMIT);
    const stats = await inspections();
    expect(stats.limit).toBe(LIMIT);
    expect(stats.peak).toBeLessThanOrEqual(LIMIT);
    expect(stats.peak).toBeGreaterThan(1);
    expect(stats.running).toBe(0);
    // Eight listings of the same 40 images inspect each once; each POST inspects its 24.
    expect(stats.runs).toBeLessThanOrEqual(QCOW_LISTED + 2 * QCOW_POSTED);
  });

  it("a listing inspects only images it has not seen as they are (path, size, times)", async () => {
    const before = (await inspections()).runs;
    expectListing((await server.api<SourceList>("GET", "/sources")).body);
    expect((await inspections()).runs).toBe(before);
    const first = path.join(sources, "many", "q-000.qcow2");
    await execa("qemu-img", ["resize", "-q", "-f", "qcow2", first, "8M"]);
    const list = (await server.api<SourceList>("GET", "/sources")).body;
    expect(list.items[0]).toMatchObject({ path: "many/q-000.qcow2", virtualSize: 8 * 1024 * 1024 });
    expect((await inspections()).runs).toBe(before + 1);
    await execa("qemu-img", ["resize", "-q", "-f", "qcow2", "--shrink", first, "1M"]);
  });

  it("past the running and waiting inspections POST /backups gets 503 busy; the rest time out", async () => {
    const filesBefore = await filesUnder(path.join(server.dataDir, "repository"));
    const jobsBefore = (await server.api<{ items: unknown[] }>("GET", "/backups?limit=200")).body.items.length;
    const watcher = watchInspections();
    const hanging = `nbd://127.0.0.1:${silentPort}/x`;
    const t0 = Date.now();
    const answers = await withDeadline(
      Promise.all(
        Array.from({ length: 28 }, async () => {
          const response = await fetch(`${server.url}/api/v1/backups`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${TEST_TOKEN}` },
            body: JSON.stringify({ vmName: "hang", type: "full", disks: [{ source: hanging }] }),
          });
          const body = (await response.json()) as ErrorBody;
          const retryAfter = response.headers.get("retry-after");
          return { status: response.status, retryAfter, body, at: Date.now() - t0 };
        }),
      ),
      90_000,
      "every request against the silent source to be answered",
    );
    const max = await watcher.stop();
    const busy = answers.filter((a) => a.status === 503);
    const unreadable = answers.filter((a) => a.status === 422);
    const summary = JSON.stringify(answers.map((a) => [a.status, a.body.error?.code]));
    expect(busy.length + unreadable.length, summary).toBe(answers.length);
    // 4 run and 16 wait; at least the rest are turned away at once.
    expect(busy.length).toBeGreaterThanOrEqual(28 - LIMIT - 16);
    expect(unreadable.length).toBeGreaterThanOrEqual(LIMIT);
    for (const b of busy) {
      expect(b.body.error.code).toBe("busy");
      expect(Number(b.retryAfter)).toBeGreaterThan(0);
    }
    expect(Math.min(...busy.map((b) => b.at)), "the first refusals come at once, not after a wait").toBeLessThan(5_000);
    for (const u of unreadable) expect(u.body.error.code).toBe("source_unreadable");
    expect(max).toBeLessThanOrEqual(LIMIT);
    expect((await server.api<{ items: unknown[] }>("GET", "/backups?limit=200")).body.items.length).toBe(jobsBefore);
    expect(await filesUnder(path.join(server.dataDir, "repository"))).toEqual(filesBefore);
    expect((await inspections()).running).toBe(0);
  });
});
