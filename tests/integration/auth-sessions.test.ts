// Browser sessions on the real server: first-run setup, sign-in and sign-out, the cookie's
// attributes, sessions that end (expired, idle, revoked, user disabled, password reset) and
// stop working at once, CSRF, role changes and the last-admin guard.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { browser, call, createUser, login, sessionCookieOf } from "./auth-support";

const fleet = new ServerFleet("authsess");
let server: TestServer;
let db: pg.Client;

beforeAll(async () => {
  server = await fleet.start();
  db = await fleet.client(server);
});

afterAll(() => fleet.end());

const me = (cookie: string) =>
  call<{ name: string; role: string; kind: string }>(server, "GET", "/auth/me", { headers: browser(server, cookie) });

describe("first run", () => {
  it("lets the first admin be created once, signed in at once, with a safe cookie", async () => {
    expect((await call(server, "GET", "/auth/me")).status).toBe(401);
    const r = await call<{ user: { name: string; role: string } }>(server, "POST", "/auth/setup", {
      body: { username: "Root", password: "first-admin-pw" },
    });
    expect(r.status).toBe(201);
    expect(r.body.user).toMatchObject({ name: "root", role: "admin" });
    const setCookie = r.headers.getSetCookie().find((c) => c.startsWith("nbdhub_session="))!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=lax/i);
    expect(setCookie).toMatch(/Path=\//);
    // Served over plain http here: a Secure cookie would be dropped by the browser.
    expect(setCookie).not.toMatch(/Secure/i);
    expect((await me(sessionCookieOf(r.headers))).body).toMatchObject({ kind: "user", name: "root", role: "admin" });

    const again = await call<{ error: { code: string } }>(server, "POST", "/auth/setup", {
      body: { username: "other", password: "another-admin-pw" },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("setup_done");
  });

  it("marks the cookie Secure when served over https (behind a TLS proxy)", async () => {
    const r = await call(server, "POST", "/auth/login", {
      body: { username: "root", password: "first-admin-pw" },
      headers: { "x-forwarded-proto": "https" },
    });
    expect(r.status).toBe(200);
    expect(r.headers.getSetCookie().find((c) => c.startsWith("nbdhub_session="))).toMatch(/Secure/i);
  });

  it("stores an argon2id hash, never the password", async () => {
    const { rows } = await db.query<{ password_hash: string }>(
      `SELECT password_hash FROM users WHERE username = 'root'`,
    );
    expect(rows[0].password_hash.startsWith("$argon2id$")).toBe(true);
    expect(rows[0].password_hash).not.toContain("first-admin-pw");
  });
});

describe("sign-in and sessions", () => {
  it("refuses a wrong password with 401 and the envelope", async () => {
    const r = await call<{ error: { code: string; message: string } }>(server, "POST", "/auth/login", {
      body: { username: "root", password: "nope-nope" },
      headers: { "x-forwarded-for": "10.9.0.1" },
    });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("invalid_credentials");
    expect(r.headers.getSetCookie()).toHaveLength(0);
  });

  it("signs out: the old cookie stops working at once, and the cookie is cleared", async () => {
    const cookie = await login(server, "root", "first-admin-pw");
    expect((await me(cookie)).status).toBe(200);
    const out = await call(server, "POST", "/auth/logout", { headers: browser(server, cookie) });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie().find((c) => c.startsWith("nbdhub_session="))).toMatch(/Max-Age=0/i);
    const after = await me(cookie);
    expect(after.status).toBe(401);
  });

  it("ends an expired session at once", async () => {
    const cookie = await login(server, "root", "first-admin-pw");
    expect((await me(cookie)).status).toBe(200);
    await db.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE revoked_at IS NULL`);
    expect((await me(cookie)).status).toBe(401);
  });

  it("ends an idle session", async () => {
    const cookie = await login(server, "root", "first-admin-pw");
    await db.query(
      `UPDATE sessions SET last_seen_at = now() - interval '3 hours' WHERE revoked_at IS NULL AND expires_at > now()`,
    );
    expect((await me(cookie)).status).toBe(401);
  });

  it("refuses a tampered or foreign cookie", async () => {
    const cookie = await login(server, "root", "first-admin-pw");
    const tampered = cookie.slice(0, -4) + (cookie.endsWith("AAAA") ? "BBBB" : "AAAA");
    expect((await me(tampered)).status).toBe(401);
    expect((await me("nbdhub_session=garbage")).status).toBe(401);
  });

  it("signs a disabled user out everywhere at once, and a reset password ends their sessions", async () => {
    const admin = await login(server, "root", "first-admin-pw");
    const { id } = await createUser(server, "dora", "operator", "dora-password-1");
    const dora = await login(server, "dora", "dora-password-1");
    expect((await me(dora)).body.role).toBe("operator");

    const reset = await call(server, "PATCH", `/users/${id}`, {
      body: { password: "dora-password-2" },
      headers: browser(server, admin),
    });
    expect(reset.status).toBe(200);
    expect((await me(dora)).status).toBe(401);
    const dora2 = await login(server, "dora", "dora-password-2");

    const disable = await call(server, "PATCH", `/users/${id}`, {
      body: { disabled: true },
      headers: browser(server, admin),
    });
    expect(disable.status).toBe(200);
    expect((await me(dora2)).status).toBe(401);
    const denied = await call(server, "POST", "/auth/login", {
      body: { username: "dora", password: "dora-password-2" },
    });
    expect(denied.status).toBe(401);
  });

  it("applies a role change to a live session at once", async () => {
    const admin = await login(server, "root", "first-admin-pw");
    const { id } = await createUser(server, "olga", "operator", "olga-password");
    const olga = await login(server, "olga", "olga-password");
    const allocate = () => call(server, "POST", "/nbd/ports/allocate", { body: {}, headers: browser(server, olga) });
    expect([401, 403]).not.toContain((await allocate()).status);
    await call(server, "PATCH", `/users/${id}`, { body: { role: "viewer" }, headers: browser(server, admin) });
    expect((await allocate()).status).toBe(403);
  });

  it("keeps one enabled admin: the last one cannot be demoted, disabled or deleted", async () => {
    const admin = await login(server, "root", "first-admin-pw");
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM users WHERE username = 'root'`);
    const demote = await call<{ error: { code: string } }>(server, "PATCH", `/users/${rows[0].id}`, {
      body: { role: "viewer" },
      headers: browser(server, admin),
    });
    expect(demote.status).toBe(409);
    expect(demote.body.error.code).toBe("last_admin");
    const del = await server.api<{ error: { code: string } }>("DELETE", `/users/${rows[0].id}`);
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe("last_admin");
    expect((await me(admin)).body.role).toBe("admin");
  });

  it("answers users without their password hash", async () => {
    const r = await server.api<{ items: Record<string, unknown>[] }>("GET", "/users");
    expect(r.status).toBe(200);
    expect(r.body.items.length).toBeGreaterThan(0);
    for (const u of r.body.items)
      expect(Object.keys(u).sort()).toEqual(["createdAt", "disabled", "id", "lastLoginAt", "role", "username"]);
  });
});

describe("cross-site request forgery", () => {
  it("refuses a cookie-borne change from another origin, or with no origin at all", async () => {
    const cookie = await login(server, "root", "first-admin-pw");
    const body = { username: "csrf-victim", password: "whatever-123", role: "admin" };
    // Another site altogether (refused for its host name before the CSRF check), and another
    // origin on this host (another port): the CSRF check itself.
    const evil = await call<{ error: { code: string } }>(server, "POST", "/users", {
      body,
      headers: { cookie, origin: "http://evil.example" },
    });
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe("origin_not_allowed");
    const otherPort = await call<{ error: { code: string } }>(server, "POST", "/users", {
      body,
      headers: { cookie, origin: "http://127.0.0.1:1" },
    });
    expect(otherPort.status).toBe(403);
    expect(otherPort.body.error.code).toBe("forbidden");
    const bare = await call(server, "POST", "/users", { body, headers: { cookie } });
    expect(bare.status).toBe(403);
    const crossSite = await call(server, "POST", "/users", {
      body,
      headers: { cookie, "sec-fetch-site": "cross-site" },
    });
    expect(crossSite.status).toBe(403);
    const { rows } = await db.query(`SELECT 1 FROM users WHERE username = 'csrf-victim'`);
    expect(rows).toHaveLength(0);
    // The same request from the console's own page goes through.
    const own = await call(server, "POST", "/users", { body, headers: browser(server, cookie) });
    expect(own.status).toBe(201);
    // Reads are not state changes: no Origin needed.
    expect((await call(server, "GET", "/auth/me", { headers: { cookie } })).status).toBe(200);
  });

  it("refuses a sign-in posted from another site (login CSRF)", async () => {
    const r = await call(server, "POST", "/auth/login", {
      body: { username: "root", password: "first-admin-pw" },
      headers: { origin: "http://evil.example" },
    });
    expect(r.status).toBe(403);
  });
});

// The sign-in brake (per address and account, behind trusted proxies only) is proven in
// auth-throttle.test.ts.
