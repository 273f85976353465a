// API tokens belong to whoever made them (issue 11, item 6), on the real server: a token
// never does more than its maker's current role, stops when the maker is disabled or deleted
// (or is a token that was revoked), and a revoked bootstrap token stays revoked across
// restarts until NBDHUB_BOOTSTRAP_TOKEN changes. Also: the migration links tokens made before
// it to their makers and ends those whose maker is gone.
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "@/lib/db/migrator";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { TEST_TOKEN, type TestServer } from "../helpers/server";
import { ServerFleet } from "../helpers/server-fleet";
import { bearer, browser, call, createUser, login } from "./auth-support";

type TokenView = {
  id: string;
  name: string;
  role: string;
  effectiveRole: string | null;
  refusedBecause: string | null;
  revokedAt: string | null;
  createdByUserId: string | null;
};
type Made = { id: string; token: string };
type MadeBy = { userId: string; token: Made };
type Me = { kind: string; name: string; role: string };

const fleet = new ServerFleet("authowner");
let server: TestServer;
let db: pg.Client;

beforeAll(async () => {
  server = await fleet.start();
  db = await fleet.client(server);
  // Another admin, so the users below may be demoted, disabled and deleted (never the last admin).
  await createUser(server, "root", "admin", "root-password");
});

afterAll(() => fleet.end());

const me = (token: string) => call<Me>(server, "GET", "/auth/me", { headers: bearer(token) });
async function tokenRow(id: string): Promise<TokenView> {
  const list = await server.api<{ items: TokenView[] }>("GET", "/tokens");
  return list.body.items.find((t) => t.id === id)!;
}

const patchUser = (id: string, body: Record<string, unknown>) => server.api("PATCH", `/users/${id}`, body);

/**
 * A user who signed in and made a token in the console. Only admins make tokens, so the user
 * starts as an admin and is then given `role` (as when an admin is later demoted).
 */
async function userWithToken(username: string, role: string, tokenRole: string): Promise<MadeBy> {
  const { id } = await createUser(server, username, "admin", `${username}-password`);
  const cookie = await login(server, username, `${username}-password`);
  const body = { name: `${username}-script`, role: tokenRole };
  const made = await call<Made>(server, "POST", "/tokens", { body, headers: browser(server, cookie) });
  expect(made.status).toBe(201);
  if (role !== "admin") expect((await patchUser(id, { role })).status).toBe(200);
  return { userId: id, token: made.body };
}

describe("a token and the user who made it", () => {
  it("is narrowed at once when the maker is demoted", async () => {
    const { userId, token } = await userWithToken("alice", "admin", "admin");
    expect((await me(token.token)).body.role).toBe("admin");
    expect((await call(server, "GET", "/users", { headers: bearer(token.token) })).status).toBe(200);

    expect((await patchUser(userId, { role: "operator" })).status).toBe(200);
    expect((await me(token.token)).body.role).toBe("operator");
    const users = await call<{ error: { code: string } }>(server, "GET", "/users", { headers: bearer(token.token) });
    expect(users.status).toBe(403);
    // The token cannot mint an admin token either.
    const escalate = await call(server, "POST", "/tokens", {
      body: { name: "escalate", role: "admin" },
      headers: bearer(token.token),
    });
    expect(escalate.status).toBe(403);
    expect(await tokenRow(token.id)).toMatchObject({
      role: "admin",
      effectiveRole: "operator",
      refusedBecause: null,
      createdByUserId: userId,
    });
  });

  it("stops when the maker is disabled, and works again when they are enabled", async () => {
    const { userId, token } = await userWithToken("bert", "operator", "operator");
    expect((await me(token.token)).status).toBe(200);
    expect((await patchUser(userId, { disabled: true })).status).toBe(200);
    const refused = await me(token.token);
    expect(refused.status).toBe(401);
    expect(await tokenRow(token.id)).toMatchObject({
      effectiveRole: null,
      refusedBecause: expect.stringMatching(/bert.*disabled/),
    });
    expect((await patchUser(userId, { disabled: false })).status).toBe(200);
    expect((await me(token.token)).body.role).toBe("operator");
  });

  it("ends when the maker is deleted, and stays listed as revoked", async () => {
    const { userId, token } = await userWithToken("carl", "operator", "viewer");
    expect((await me(token.token)).status).toBe(200);
    expect((await server.api("DELETE", `/users/${userId}`)).status).toBe(200);
    expect((await me(token.token)).status).toBe(401);
    const row = await tokenRow(token.id);
    expect(row.revokedAt).not.toBeNull();
    expect(row).toMatchObject({ effectiveRole: null, createdByUserId: null });
  });

  it("ends when the token it was made with is revoked", async () => {
    const parent = await server.api<Made>("POST", "/tokens", { name: "provisioner", role: "admin" });
    const child = await call<Made>(server, "POST", "/tokens", {
      body: { name: "agent", role: "operator" },
      headers: bearer(parent.body.token),
    });
    expect(child.status).toBe(201);
    expect((await me(child.body.token)).body.role).toBe("operator");
    expect((await server.api("DELETE", `/tokens/${parent.body.id}`)).status).toBe(200);
    expect((await me(child.body.token)).status).toBe(401);
    expect((await tokenRow(child.body.id)).refusedBecause).toMatch(/made with was revoked/);
  });
});

describe("the bootstrap token", () => {
  // Three server starts: give it room on a busy machine.
  it("stays revoked across restarts until NBDHUB_BOOTSTRAP_TOKEN changes", { timeout: 300_000 }, async () => {
    const cookie = await login(server, "root", "root-password");
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM api_tokens WHERE created_by = 'NBDHUB_BOOTSTRAP_TOKEN' AND revoked_at IS NULL`,
    );
    expect(rows).toHaveLength(1);
    const revoke = await call(server, "DELETE", `/tokens/${rows[0].id}`, { headers: browser(server, cookie) });
    expect(revoke.status).toBe(200);
    expect((await me(TEST_TOKEN)).status).toBe(401);

    await server.stop();
    server = await fleet.startAgain(server);
    expect((await me(TEST_TOKEN)).status).toBe(401);
    expect(server.output()).toMatch(/NBDHUB_BOOTSTRAP_TOKEN token was revoked and stays revoked/);

    const rotated = "rotated-bootstrap-token-0123456789abcdefghij";
    await server.stop();
    server = await fleet.startAgain(server, { NBDHUB_BOOTSTRAP_TOKEN: rotated });
    expect((await me(rotated)).body).toMatchObject({ kind: "token", role: "admin" });
    expect((await me(TEST_TOKEN)).status).toBe(401);
  });
});

describe("the migration", () => {
  it("links tokens made before it to their makers and ends those whose maker is gone", async () => {
    const root = path.resolve(__dirname, "../..");
    const all = path.join(root, "prisma/migrations");
    const before = await mkdtemp(path.join(os.tmpdir(), "nbdhub-migrations-before-"));
    const url = await createTestDatabase("ownermig");
    const client = new pg.Client({ connectionString: url });
    try {
      // The schema as it was before token ownership: only the migrations older than it.
      for (const name of await readdir(all)) {
        if (name < "20261201000200") await cp(path.join(all, name), path.join(before, name), { recursive: true });
      }
      await migrate(url, before);
      await client.connect();
      await client.query(`INSERT INTO users (id, username, password_hash, role) VALUES ('u1', 'olivia', 'x', 'admin')`);
      await client.query(`INSERT INTO api_tokens (id, name, token_hash, role, created_by, created_at) VALUES
        ('boot', 'bootstrap', 'h0', 'admin', 'NBDHUB_BOOTSTRAP_TOKEN', now() - interval '3 hours'),
        ('t-user', 'olivias', 'h1', 'operator', 'olivia', now() - interval '2 hours'),
        ('t-by-boot', 'agent', 'h2', 'operator', 'token:bootstrap', now() - interval '1 hour'),
        ('t-by-user-token', 'sub', 'h3', 'viewer', 'token:olivias', now() - interval '30 minutes'),
        ('t-orphan', 'old', 'h4', 'admin', 'someone-deleted', now() - interval '1 hour')`);
      await migrate(url, all);
      type Row = {
        id: string;
        created_by_user_id: string | null;
        created_by_token_id: string | null;
        revoked: boolean;
      };
      const { rows } = await client.query<Row>(
        `SELECT id, created_by_user_id, created_by_token_id, revoked_at IS NOT NULL AS revoked
           FROM api_tokens ORDER BY id`,
      );
      expect(rows).toEqual([
        { id: "boot", created_by_user_id: null, created_by_token_id: null, revoked: false },
        { id: "t-by-boot", created_by_user_id: null, created_by_token_id: "boot", revoked: false },
        { id: "t-by-user-token", created_by_user_id: "u1", created_by_token_id: "t-user", revoked: false },
        { id: "t-orphan", created_by_user_id: null, created_by_token_id: null, revoked: true },
        { id: "t-user", created_by_user_id: "u1", created_by_token_id: null, revoked: false },
      ]);
    } finally {
      await client.end().catch(() => undefined);
      await dropTestDatabase(url);
      await rm(before, { recursive: true, force: true });
    }
  });
});
