// Requests a browser can be tricked into sending, on the real server (issue 11, items 7 and 9):
// - DNS rebinding: a page on evil.example whose name now resolves to the console is, to the
//   browser, same-origin with it; the Host header still says evil.example, and is refused
//   (pages and API alike), as is a state change whose Origin is such a host;
// - an open redirect after sign-in (`?next=/%09/evil.com`);
// - a client-sent x-nbdhub-path header that would make the page guard think it is on /login.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { startServer, TEST_TOKEN, type TestServer } from "../helpers/server";
import { login, rawRequest } from "./auth-support";

const ADMIN_PASSWORD = "hosts-admin-password";

let server: TestServer;
let dbUrl: string;
let cookie: string;

type Envelope = { error: { code: string; message: string } };

beforeAll(async () => {
  dbUrl = await createTestDatabase("authhosts");
  server = await startServer({
    DATABASE_URL: dbUrl,
    NBDHUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
    NBDHUB_ALLOWED_HOSTS: "hub.example",
  });
  cookie = await login(server, "admin", ADMIN_PASSWORD);
});

afterAll(async () => {
  await server?.stop();
  if (dbUrl) await dropTestDatabase(dbUrl);
});

describe("host names (DNS rebinding)", () => {
  const rebound = () => `evil.example:${server.port}`;

  it("refuses every API route, health included, for a host name it does not answer to", async () => {
    const health = await rawRequest(`${server.url}/api/v1/health`, { headers: { host: rebound() } });
    expect(health.status).toBe(421);
    expect((health.json as Envelope).error.code).toBe("host_not_allowed");
    expect((health.json as Envelope).error.message).toMatch(/NBDHUB_ALLOWED_HOSTS/);
    const me = await rawRequest(`${server.url}/api/v1/auth/me`, {
      headers: { host: rebound(), authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(me.status).toBe(421);
  });

  it("refuses a rebound sign-in or setup: no session is opened", async () => {
    const signIn = await rawRequest(`${server.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { host: rebound(), origin: `http://${rebound()}` },
      body: { username: "admin", password: ADMIN_PASSWORD },
    });
    expect(signIn.status).toBe(421);
    expect(signIn.headers["set-cookie"]).toBeUndefined();
  });

  it("refuses pages for a host name it does not answer to", async () => {
    for (const page of ["/", "/login", "/setup", "/jobs"]) {
      const r = await rawRequest(`${server.url}${page}`, { headers: { host: rebound(), cookie } });
      expect(r.status, page).toBe(421);
      expect(r.text).not.toContain("nbdhub_session");
    }
  });

  it("refuses an X-Forwarded-Host it does not answer to", async () => {
    const r = await rawRequest(`${server.url}/api/v1/health`, { headers: { "x-forwarded-host": "evil.example" } });
    expect(r.status).toBe(421);
  });

  it("refuses a state change sent from a page of another host (Origin)", async () => {
    const r = await rawRequest(`${server.url}/api/v1/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_TOKEN}`, origin: "http://evil.example" },
      body: { username: "planted", password: "planted-password", role: "admin" },
    });
    expect(r.status).toBe(403);
    expect((r.json as Envelope).error.code).toBe("origin_not_allowed");
    const users = await server.api<{ items: { username: string }[] }>("GET", "/users");
    expect(users.body.items.map((u) => u.username)).not.toContain("planted");
  });

  it("answers the loopback names and the configured ones", async () => {
    const port = server.port;
    const names = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, "hub.example", "HUB.EXAMPLE.:443"];
    for (const host of names) {
      expect((await rawRequest(`${server.url}/api/v1/health`, { headers: { host } })).status, host).toBe(200);
    }
    expect((await rawRequest(`${server.url}/jobs`, { headers: { host: "hub.example", cookie } })).status).toBe(200);
  });
});

describe("where sign-in sends the browser", () => {
  const offSite = ["/%09/evil.com", "/%0A/evil.com", "/%0D%0A/evil.com", "/%5Cevil.com", "//evil.com"];
  it.each([...offSite, "/%5C/evil.com", "https://evil.com"])(
    "keeps a signed-in browser on this site for next=%s",
    async (next) => {
      const r = await rawRequest(`${server.url}/login?next=${next}`, { headers: { cookie } });
      expect(r.status).toBeGreaterThanOrEqual(300);
      expect(r.status).toBeLessThan(400);
      const location = String(r.headers.location);
      // What the browser will do with it: resolve against the page, dropping tabs and newlines.
      const target = new URL(location, server.url);
      expect(target.origin, location).toBe(server.url);
      expect(location).not.toMatch(/evil/);
    },
  );

  it("still returns to a page of this site after sign-in", async () => {
    const next = encodeURIComponent("/jobs?status=failed");
    const r = await rawRequest(`${server.url}/login?next=${next}`, { headers: { cookie } });
    expect(String(r.headers.location)).toMatch(/\/jobs\?status=failed$/);
  });

  it("gives the sign-in form only a same-site target", async () => {
    const r = await rawRequest(`${server.url}/login?next=/%09/evil.com`);
    expect(r.status).toBe(200);
    // The form's `next` prop, as serialised into the page for the browser.
    const targets = [...r.text.matchAll(/\\"next\\":\\"(.*?)\\"/g)].map((m) => m[1]);
    expect(targets).toEqual(["/"]);
  });
});

describe("the page guard's path header", () => {
  it("cannot be set by the client to skip the sign-in check", async () => {
    // Page paths that look like files (a job id may hold a dot) and plain ones.
    for (const page of ["/jobs/vm1.png", "/jobs/vm1.css", "/jobs", "/admin/users"]) {
      const r = await rawRequest(`${server.url}${page}`, {
        headers: { "x-nbdhub-path": "/login", cookie: "nbdhub_session=ended-or-forged" },
      });
      expect(r.status, page).toBeGreaterThanOrEqual(300);
      expect(r.status, page).toBeLessThan(400);
      expect(String(r.headers.location), page).toMatch(/\/login/);
    }
  });

  it("still serves a page that looks like a file to a signed-in user", async () => {
    const r = await rawRequest(`${server.url}/jobs/vm1.png`, { headers: { cookie } });
    expect(r.status).toBe(200);
  });
});
