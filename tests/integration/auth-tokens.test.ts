// API tokens and the start-up accounts on the real server: a token is shown once, stored
// hashed, works as Bearer, records its last use, and stops at once when revoked; the
// bootstrap token and NBDHUB_ADMIN_PASSWORD are idempotent across restarts; and no secret
// ever shows up in the log, an API answer after creation, or the audit trail.
import { createHash } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_TOKEN, type TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { bearer, call, createToken, login } from "./auth-support";

const ADMIN_PASSWORD = "unattended-admin-password-42";
const OTHER_ADMIN_PASSWORD = "a-different-password-now";
const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");

const fleet = new ServerFleet("authtok");
let server: TestServer;
let db: pg.Client;
/** Every secret this file handles; none may leak. */
const secrets = new Set<string>([TEST_TOKEN, ADMIN_PASSWORD, OTHER_ADMIN_PASSWORD]);
/** The output of every server this file started (restarts included). */
const logs: string[] = [];

/** Stop the server and start it again on its database and data directory, with `env` changed. */
async function restart(env: Record<string, string>): Promise<void> {
  await server.stop();
  logs.push(server.output());
  server = await fleet.startAgain(server, env);
}

beforeAll(async () => {
  server = await fleet.start({ NBDHUB_ADMIN_PASSWORD: ADMIN_PASSWORD });
  db = await fleet.client(server);
});

afterAll(() => fleet.end());

describe("API tokens", () => {
  let created: { id: string; token: string; name: string; role: string };

  it("creates a token whose secret is in the creation answer only, stored as a SHA-256 hash", async () => {
    const r = await server.api<typeof created>("POST", "/tokens", { name: "ci runner", role: "operator" });
    expect(r.status).toBe(201);
    created = r.body;
    secrets.add(created.token);
    expect(created.token).toMatch(/^nbdh_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ name: "ci runner", role: "operator" });
    const { rows } = await db.query<{ token_hash: string; created_by: string }>(
      `SELECT token_hash, created_by FROM api_tokens WHERE id = $1`,
      [created.id],
    );
    expect(rows[0].token_hash).toBe(sha256(created.token));
    expect(rows[0].created_by).toBe("token:bootstrap");

    const list = await server.api<{ items: Record<string, unknown>[] }>("GET", "/tokens");
    expect(list.status).toBe(200);
    const row = list.body.items.find((t) => t.id === created.id)!;
    expect(Object.keys(row).sort()).toEqual([
      "createdAt",
      "createdBy",
      "createdByUserId",
      "effectiveRole",
      "id",
      "lastUsedAt",
      "name",
      "refusedBecause",
      "revokedAt",
      "role",
    ]);
    expect(JSON.stringify(list.body)).not.toContain(created.token);
  });

  it("works as Bearer, names the caller token:<name>, and records its last use", async () => {
    const r = await call<{ kind: string; name: string; role: string }>(server, "GET", "/auth/me", {
      headers: bearer(created.token),
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ kind: "token", id: created.id, name: "token:ci runner", role: "operator" });
    const { rows } = await db.query<{ last_used_at: Date | null }>(
      `SELECT last_used_at FROM api_tokens WHERE id = $1`,
      [created.id],
    );
    expect(rows[0].last_used_at).not.toBeNull();
  });

  it("refuses an unknown or malformed Bearer with 401, even when a valid cookie is also sent", async () => {
    const cookie = await login(server, "admin", ADMIN_PASSWORD);
    for (const auth of ["Bearer nbdh_not-a-real-token-0000000000000000000000000000", "Bearer", "Basic abc"]) {
      const r = await call<{ error: { code: string } }>(server, "GET", "/auth/me", {
        headers: { authorization: auth, cookie },
      });
      expect(r.status, auth).toBe(401);
      expect(r.body.error.code).toBe("unauthenticated");
    }
  });

  it("stops working at once when revoked, and stays listed as revoked", async () => {
    const revoke = await server.api<{ revokedAt: string | null }>("DELETE", `/tokens/${created.id}`);
    expect(revoke.status).toBe(200);
    expect(revoke.body.revokedAt).not.toBeNull();
    const after = await call(server, "GET", "/auth/me", { headers: bearer(created.token) });
    expect(after.status).toBe(401);
    expect((await server.api("DELETE", `/tokens/${created.id}`)).status).toBe(200);
    expect((await server.api("DELETE", `/tokens/no-such-token`)).status).toBe(404);
  });

  it("lets only admins manage tokens", async () => {
    const op = await createToken(server, "op", "operator");
    secrets.add(op.token);
    const r = await call(server, "POST", "/tokens", {
      body: { name: "escalate", role: "admin" },
      headers: bearer(op.token),
    });
    expect(r.status).toBe(403);
    expect((await call(server, "GET", "/tokens", { headers: bearer(op.token) })).status).toBe(403);
  });
});

describe("start-up accounts", () => {
  it("NBDHUB_ADMIN_PASSWORD made user admin on the empty database", async () => {
    const r = await call<{ user: { name: string; role: string } }>(server, "POST", "/auth/login", {
      body: { username: "admin", password: ADMIN_PASSWORD },
    });
    expect(r.status).toBe(200);
    expect(r.body.user).toMatchObject({ name: "admin", role: "admin" });
    expect(
      (await call(server, "POST", "/auth/setup", { body: { username: "late", password: "late-password" } })).status,
    ).toBe(409);
  });

  // Three server starts: give it room on a busy machine.
  it(
    "is idempotent across a restart, and a changed bootstrap value retires the old one",
    { timeout: 240_000 },
    async () => {
      const env = { NBDHUB_ADMIN_PASSWORD: OTHER_ADMIN_PASSWORD };
      await restart(env);
      const count = await db.query(`SELECT count(*)::int AS n FROM api_tokens WHERE token_hash = $1`, [
        sha256(TEST_TOKEN),
      ]);
      expect(count.rows[0].n).toBe(1);
      expect((await server.api("GET", "/auth/me")).status).toBe(200);
      // The admin password is not reset by a restart with another value.
      expect(
        (await call(server, "POST", "/auth/login", { body: { username: "admin", password: ADMIN_PASSWORD } })).status,
      ).toBe(200);
      const users = await db.query(`SELECT count(*)::int AS n FROM users`);
      expect(users.rows[0].n).toBe(1);
      // Sessions survive a restart (the session key is kept in the data directory).
      const cookie = await login(server, "admin", ADMIN_PASSWORD);
      const rotated = "rotated-bootstrap-token-abcdefghijklmnopqrstuvwxyz";
      secrets.add(rotated);
      await restart({ ...env, NBDHUB_BOOTSTRAP_TOKEN: rotated });
      expect((await call(server, "GET", "/auth/me", { headers: { cookie } })).status).toBe(200);
      expect((await call(server, "GET", "/auth/me", { headers: bearer(rotated) })).status).toBe(200);
      expect((await call(server, "GET", "/auth/me", { headers: bearer(TEST_TOKEN) })).status).toBe(401);
      // The server now runs with the rotated value, which `server.api` sends from here on. (A
      // value once revoked stays revoked: auth-token-owner.test.ts.)
      expect((await server.api("GET", "/auth/me")).status).toBe(200);
    },
  );
});

describe("secrets", () => {
  it("never appear in the log, the audit trail or an answer", async () => {
    // Failed sign-ins with a real password as the user name, and a real token as a password,
    // are the likeliest way for a secret to reach a record.
    await call(server, "POST", "/auth/login", { body: { username: "admin", password: TEST_TOKEN } });
    await call(server, "POST", "/auth/login", { body: { username: "nobody", password: ADMIN_PASSWORD } });
    await call(server, "PATCH", "/users/no-such-user", {
      body: { password: ADMIN_PASSWORD },
      headers: bearer(TEST_TOKEN),
    });

    const audit = await server.api<{ items: unknown[] }>("GET", "/audit?limit=500");
    expect(audit.status).toBe(200);
    const { rows } = await db.query<{ row: string }>(`SELECT row_to_json(a)::text AS row FROM audit_events a`);
    const tokens = await server.api("GET", "/tokens");
    const users = await server.api("GET", "/users");
    const haystacks: Record<string, string> = {
      log: [...logs, server.output()].join("\n"),
      "GET /audit": JSON.stringify(audit.body),
      audit_events: rows.map((r) => r.row).join("\n"),
      "GET /tokens": JSON.stringify(tokens.body),
      "GET /users": JSON.stringify(users.body),
    };
    expect(rows.length).toBeGreaterThan(5);
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of secrets)
        expect(text.includes(secret), `a secret (${secret.slice(0, 6)}…) is in ${where}`).toBe(false);
    }
  });
});
