// Issue 11, item 10: NBD sources reach only what the configuration allows. Unix sockets only
// under NBDHUB_NBD_SOURCE_SOCKET_DIRS, allowed hosts only on their allowed ports, no query
// parameter that names a file, and a source that cannot be read is answered with a fixed
// sentence (the tool's words go to the server log), so the hub is no probe.
import { mkdtemp, symlink, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { filesUnder } from "../helpers/images";
import { startNbdkit, startNbdkitServer, type NbdSource } from "../helpers/nbdkit";
import { freePort, freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { waitFor } from "../helpers/wait";

type Job = { id: string; status: string; error: string | null };
type ErrorBody = { error: { code: string; message: string; details?: Record<string, string> } };

let server: TestServer;
let dbUrl: string;
let tcp: NbdSource;
let inside: NbdSource;
let outside: NbdSource;
let socketDir: string;
let outsideDir: string;
const started: NbdSource[] = [];

beforeAll(async () => {
  dbUrl = await createTestDatabase("nbdsrc");
  socketDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-sockets-"));
  outsideDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-other-sockets-"));
  await chmod(socketDir, 0o755);
  tcp = await startNbdkit(["pattern", "size=4M"]);
  inside = await startNbdkitServer(["pattern", "size=4M"], { socket: path.join(socketDir, "vm1.sock") });
  outside = await startNbdkitServer(["pattern", "size=4M"], { socket: path.join(outsideDir, "other.sock") });
  started.push(tcp, inside, outside);
  // A link inside the allowed folder to a socket outside it must not count as inside.
  await symlink(path.join(outsideDir, "other.sock"), path.join(socketDir, "link.sock"));
  const range = await freePortRange(4);
  server = await startServer({
    DATABASE_URL: dbUrl,
    NBDHUB_PORT_RANGE: `${range.min}-${range.max}`,
    // 127.0.0.1 only on the nbdkit's port; localhost on any port.
    NBDHUB_NBD_SOURCE_HOSTS: `127.0.0.1:${tcp.port},localhost,[::1]:1`,
    NBDHUB_NBD_SOURCE_SOCKET_DIRS: socketDir,
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  for (const s of started) await s.stop();
  if (dbUrl) await dropTestDatabase(dbUrl);
});

async function post(source: string) {
  return server.api<ErrorBody & Job>("POST", "/backups", { vmName: "nbdvm", type: "full", disks: [{ source }] });
}

async function completes(source: string) {
  const r = await post(source);
  expect(r.status, `${source}: ${JSON.stringify(r.body)}`).toBe(202);
  const done = await waitFor(
    async () => {
      const j = (await server.api<Job>("GET", `/backups/${r.body.id}`)).body;
      return ["completed", "failed", "cancelled"].includes(j.status) ? j : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `the backup of ${source} to end` },
  );
  expect(done.status, `${source}: ${done.error ?? ""}`).toBe("completed");
}

describe("NBD source rules", () => {
  it("allowed sources still back up: a host on its allowed port, a socket under an allowed folder", async () => {
    await completes(`nbd://127.0.0.1:${tcp.port}/`);
    await completes(`nbd+unix:///?socket=${path.join(socketDir, "vm1.sock")}`);
  });

  it("refuses what the configuration does not allow, before connecting, and creates nothing", async () => {
    const jobsBefore = (await server.api<{ items: Job[] }>("GET", "/backups?limit=200")).body.items.length;
    const filesBefore = await filesUnder(path.join(server.dataDir, "repository"));
    const otherPort = tcp.port === 65535 ? tcp.port - 1 : tcp.port + 1;
    const cases: [string, RegExp][] = [
      // A socket outside the configured folders, directly or through a link inside one.
      [`nbd+unix:///?socket=${path.join(outsideDir, "other.sock")}`, /NBDHUB_NBD_SOURCE_SOCKET_DIRS/],
      [`nbd+unix:///?socket=${path.join(socketDir, "link.sock")}`, /NBDHUB_NBD_SOURCE_SOCKET_DIRS/],
      [`nbd+unix:///?socket=${socketDir}/../${path.basename(outsideDir)}/other.sock`, /NBDHUB_NBD_SOURCE_SOCKET_DIRS/],
      ["nbd+unix:///x?socket=/etc/passwd", /NBDHUB_NBD_SOURCE_SOCKET_DIRS/],
      ["nbd+unix:///x", /socket/],
      // An allowed host on a port it is not allowed on; a host not listed at all.
      [`nbd://127.0.0.1:${otherPort}/`, /port/],
      ["nbd://127.0.0.1/", /port/],
      ["nbd://[::1]:10809/", /port/],
      ["nbd://192.0.2.1:10809/x", /NBDHUB_NBD_SOURCE_HOSTS/],
      // Query parameters that name files (TLS keys and certificates), or anything unknown.
      ["nbds://localhost:10809/x?tls-psk-file=/etc/passwd", /tls-psk-file/],
      [`nbds://127.0.0.1:${tcp.port}/?tls-certificates=/etc/ssl`, /tls-certificates/],
      [`nbd+unix:///?socket=${path.join(socketDir, "vm1.sock")}&tls-psk-file=/etc/shadow`, /tls-psk-file/],
      [`nbd://127.0.0.1:${tcp.port}/?socket=/etc/passwd`, /socket/],
      [`nbd://127.0.0.1:${tcp.port}/?x=1`, /query parameter/],
      // User names, other transports.
      [`nbd://someone@127.0.0.1:${tcp.port}/`, /user/],
      ["nbd+vsock:///x", /NBD URI|scheme/],
    ];
    for (const [source, why] of cases) {
      const r = await post(source);
      const answer = { source, status: r.status, code: r.body.error?.code };
      expect(answer).toEqual({ source, status: 422, code: "source_not_allowed" });
      expect(r.body.error.message, source).toMatch(why);
      expect(r.body.error.details?.["disks.0.source"], source).toBeTruthy();
    }
    expect((await server.api<{ items: Job[] }>("GET", "/backups?limit=200")).body.items.length).toBe(jobsBefore);
    expect(await filesUnder(path.join(server.dataDir, "repository"))).toEqual(filesBefore);
    expect((await server.api<{ allocated: number }>("GET", "/nbd/ports")).body.allocated).toBe(0);
  });

  it("an allowed source that cannot be read gets a fixed sentence; the tool's words go to the log", async () => {
    const closed = await freePort();
    const missing = path.join(socketDir, "missing.sock");
    for (const source of [`nbd://localhost:${closed}/x`, `nbd+unix:///?socket=${missing}`]) {
      const r = await post(source);
      expect(r.status, JSON.stringify(r.body)).toBe(422);
      expect(r.body.error.code).toBe("source_unreadable");
      expect(r.body.error.message).toBe("disks.0.source: the NBD source could not be read (see the server log)");
      expect(JSON.stringify(r.body)).not.toMatch(/nbdinfo|refused|No such file|errno|libnbd/i);
    }
    // The operator can still find out why.
    await waitFor(() => /Connection refused|connect/i.test(server.output()), {
      timeoutMs: 5_000,
      what: "nbdinfo's error in the server log",
    });
  });
});
