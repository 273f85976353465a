// First run without a takeover (issue 11, item 7), on the real server listening on every
// interface: while there are no users, only a client on the server itself, or one with the
// one-time setup code from the server's log, may create the first admin. A remote client that
// claims to be 127.0.0.1 in a header is still remote; a loopback request relayed by a proxy
// nobody configured as trusted is not "local" either. A refused setup writes nothing.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { nonLoopbackAddress, rawRequest } from "./auth-support";

const fleet = new ServerFleet("authfirst");
let server: TestServer;
let db: pg.Client;
let remote: string;
let local: string;

const CODE_LINE = /one-time setup code ([0-9A-Z]{5}(?:-[0-9A-Z]{5}){3})/;

type Envelope = { error: { code: string; message: string } };
const intruder = { username: "intruder", password: "intruder-password" };

const setup = (base: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
  rawRequest(`${base}/api/v1/auth/setup`, { method: "POST", body, headers: { origin: base, ...headers } });

async function userCount(): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users`);
  return rows[0].n;
}

beforeAll(async () => {
  const address = nonLoopbackAddress();
  // Listening on every interface: this test reaches it as a remote client (its own
  // non-loopback address) and as a local one (127.0.0.1).
  server = await fleet.start({ NBDHUB_ALLOWED_HOSTS: address }, { host: "0.0.0.0" });
  remote = `http://${address}:${server.port}`;
  local = `http://127.0.0.1:${server.port}`;
  db = await fleet.client(server);
});

afterAll(() => fleet.end());

describe("first run from another machine", () => {
  it("prints a one-time setup code in the server's log at start", () => {
    expect(server.output()).toMatch(CODE_LINE);
  });

  it("refuses a remote client without the code, even when it claims to be 127.0.0.1", async () => {
    const claims: Record<string, string>[] = [
      {},
      { "x-forwarded-for": "127.0.0.1" },
      { "x-real-ip": "127.0.0.1" },
      { forwarded: "for=127.0.0.1" },
    ];
    for (const claim of claims) {
      const r = await setup(remote, intruder, claim);
      expect(r.status, JSON.stringify(claim)).toBe(403);
      expect((r.json as Envelope).error.code).toBe("setup_code_required");
      expect((r.json as Envelope).error.message).toMatch(/setup code from the server's log/);
      expect(r.headers["set-cookie"]).toBeUndefined();
    }
    expect(await userCount()).toBe(0);
  });

  it("refuses a wrong code", async () => {
    const r = await setup(remote, { ...intruder, setupCode: "AAAAA-BBBBB-CCCCC-DDDDD" });
    expect(r.status).toBe(403);
    expect((r.json as Envelope).error.code).toBe("setup_code_invalid");
    expect(await userCount()).toBe(0);
  });

  it("does not count a loopback request relayed by an unconfigured proxy as local", async () => {
    const r = await setup(local, intruder, { "x-forwarded-for": "203.0.113.50" });
    expect(r.status).toBe(403);
    expect((r.json as Envelope).error.code).toBe("setup_code_required");
    expect(await userCount()).toBe(0);
  });

  it("asks for the code on the setup page it serves to a remote browser, not to a local one", async () => {
    const remotePage = await rawRequest(`${remote}/setup`);
    expect(remotePage.status).toBe(200);
    expect(remotePage.text).toContain('name="setupCode"');
    const localPage = await rawRequest(`${local}/setup`);
    expect(localPage.status).toBe(200);
    expect(localPage.text).toContain("Welcome to nbdhub");
    expect(localPage.text).not.toContain('name="setupCode"');
  });

  it("creates the first admin with the code from the log, once; then the code opens nothing", async () => {
    const code = CODE_LINE.exec(server.output())![1];
    // Typed by a person: lower case, spaces instead of dashes.
    const typed = code.toLowerCase().replace(/-/g, " ");
    const r = await setup(remote, { username: "owner", password: "owner-password", setupCode: typed });
    expect(r.status).toBe(201);
    expect(String(r.headers["set-cookie"])).toMatch(/nbdhub_session=/);
    expect(await userCount()).toBe(1);
    const again = await setup(remote, { username: "second", password: "second-password", setupCode: code });
    expect(again.status).toBe(409);
    expect((again.json as Envelope).error.code).toBe("setup_done");
    expect(await userCount()).toBe(1);
  });
});
