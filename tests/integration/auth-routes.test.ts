// Access control, route by route, generated from the route files themselves: every exported
// method of every app/api/v1/**/route.ts is called as anonymous, viewer, operator and admin
// (API token and browser session). A new route that is missing from EXPECTED fails here, so
// no route can ship without a decision on who may call it.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { startServer, TEST_TOKEN, type TestServer } from "../helpers/server";
import { bearer, browser, call, createToken, createUser, login } from "./auth-support";

type Access = "public" | "viewer" | "operator" | "admin";
const RANK: Record<Access, number> = { public: 0, viewer: 1, operator: 2, admin: 3 };

/**
 * The policy, one row per route: who may call it, and a path with sample parameters (ids
 * that do not exist, so a request that gets through changes nothing: 404 or 422).
 */
const EXPECTED: Record<string, { access: Access; sample?: string }> = {
  "GET /health": { access: "public" },
  "GET /openapi.json": { access: "public" },
  "POST /auth/login": { access: "public" },
  "POST /auth/logout": { access: "public" },
  "POST /auth/setup": { access: "public" },
  "GET /auth/me": { access: "viewer" },
  "GET /users": { access: "admin" },
  "POST /users": { access: "admin" },
  "PATCH /users/{id}": { access: "admin", sample: "/users/no-such-user" },
  "DELETE /users/{id}": { access: "admin", sample: "/users/no-such-user" },
  "GET /tokens": { access: "admin" },
  "POST /tokens": { access: "admin" },
  "DELETE /tokens/{id}": { access: "admin", sample: "/tokens/no-such-token" },
  "GET /audit": { access: "admin" },
  "GET /nbd/ports": { access: "viewer" },
  "GET /nbd/ports/{port}": { access: "viewer", sample: "/nbd/ports/10150" },
  "POST /nbd/ports/allocate": { access: "operator" },
  "POST /nbd/ports/release": { access: "operator" },
  "GET /nbd/qemu-nbd": { access: "viewer" },
  "GET /nbd/qemu-nbd/{port}": { access: "viewer", sample: "/nbd/qemu-nbd/10150" },
  "POST /nbd/qemu-nbd/start": { access: "operator" },
  "POST /nbd/qemu-nbd/stop": { access: "operator" },
  "GET /nodes": { access: "viewer" },
  "GET /backups": { access: "viewer" },
  "POST /backups": { access: "operator" },
  "POST /backup/start": { access: "operator" },
  "GET /backups/{id}": { access: "viewer", sample: "/backups/no-such-job" },
  "POST /backups/{id}/cancel": { access: "operator", sample: "/backups/no-such-job/cancel" },
  "GET /backups/{id}/events": { access: "viewer", sample: "/backups/no-such-job/events" },
  "POST /backups/{id}/complete": { access: "operator", sample: "/backups/no-such-job/complete" },
  "POST /backups/{id}/fail": { access: "operator", sample: "/backups/no-such-job/fail" },
  "POST /backups/{id}/disks/{diskId}/progress": {
    access: "operator",
    sample: "/backups/no-such-job/disks/disk0/progress",
  },
  "GET /sources": { access: "viewer" },
  "GET /metrics": { access: "viewer" },
  "GET /metrics/prometheus": { access: "viewer" },
  "GET /stats/dashboard": { access: "viewer" },
  "GET /stats/pool-history": { access: "viewer" },
  "GET /backups/plan": { access: "viewer" },
  "GET /vms": { access: "viewer" },
  "GET /vms/{vmName}/restore-points": { access: "viewer", sample: "/vms/no-such-vm/restore-points" },
  "GET /restores": { access: "viewer" },
  "POST /restores": { access: "operator" },
  "GET /restores/{id}": { access: "viewer", sample: "/restores/no-such-restore" },
  "GET /restores/{id}/events": { access: "viewer", sample: "/restores/no-such-restore/events" },
  "POST /restores/{id}/cancel": { access: "operator", sample: "/restores/no-such-restore/cancel" },
  "POST /restores/{id}/extend": { access: "operator", sample: "/restores/no-such-restore/extend" },
  "GET /policies": { access: "viewer" },
  "POST /policies": { access: "admin" },
  "GET /policies/next-runs": { access: "viewer" },
  "GET /policies/{id}": { access: "viewer", sample: "/policies/no-such-policy" },
  "PATCH /policies/{id}": { access: "admin", sample: "/policies/no-such-policy" },
  "DELETE /policies/{id}": { access: "admin", sample: "/policies/no-such-policy" },
  "POST /policies/{id}/run": { access: "operator", sample: "/policies/no-such-policy/run" },
  "POST /policies/{id}/prune": { access: "operator", sample: "/policies/no-such-policy/prune" },
  "GET /policies/{id}/prune-preview": { access: "viewer", sample: "/policies/no-such-policy/prune-preview" },
  "GET /policies/{id}/runs": { access: "viewer", sample: "/policies/no-such-policy/runs" },
  "GET /repository": { access: "viewer" },
  "GET /repository/history": { access: "viewer" },
  "GET /notifications": { access: "admin" },
  "POST /notifications": { access: "admin" },
  "PATCH /notifications/{id}": { access: "admin", sample: "/notifications/no-such-target" },
  "DELETE /notifications/{id}": { access: "admin", sample: "/notifications/no-such-target" },
  "POST /notifications/{id}/test": { access: "admin", sample: "/notifications/no-such-target/test" },
  "GET /notifications/{id}/deliveries": { access: "admin", sample: "/notifications/no-such-target/deliveries" },
};

const API_DIR = path.resolve(__dirname, "../../app/api/v1");
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

type DiscoveredRoute = { key: string; method: string; file: string; usesWrapper: boolean };

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name === "route.ts" ? [path.join(dir, e.name)] : [],
  );
}

function discoverRoutes(): DiscoveredRoute[] {
  const routes: DiscoveredRoute[] = [];
  for (const file of walk(API_DIR)) {
    const segments = path.relative(API_DIR, path.dirname(file)).split(path.sep).filter(Boolean);
    // The catch-all only answers "no such route" (404) and holds nothing to protect.
    if (segments.some((s) => s.startsWith("[..."))) continue;
    const apiPath = "/" + segments.map((s) => (s.startsWith("[") ? `{${s.slice(1, -1)}}` : s)).join("/");
    const source = readFileSync(file, "utf8");
    for (const method of METHODS) {
      const exported = new RegExp(`export\\s+(?:const\\s+${method}\\b|(?:async\\s+)?function\\s+${method}\\b)`).test(
        source,
      );
      if (!exported) continue;
      const usesWrapper = new RegExp(`export\\s+const\\s+${method}\\s*=\\s*route\\(`).test(source);
      routes.push({ key: `${method} ${apiPath}`, method, file: path.relative(process.cwd(), file), usesWrapper });
    }
  }
  // Signing out ends the session that makes the calls: keep it for last.
  return routes.sort((a, b) => Number(a.key === "POST /auth/logout") - Number(b.key === "POST /auth/logout"));
}

const discovered = discoverRoutes();
const SAFE = new Set(["GET", "HEAD"]);

type Caller = { name: string; role: Access | "anonymous"; headers: () => Record<string, string> };

let server: TestServer;
let dbUrl: string;
const callers: Caller[] = [];

beforeAll(async () => {
  dbUrl = await createTestDatabase("authroutes");
  server = await startServer({ DATABASE_URL: dbUrl });
  const tokens: Record<string, string> = {};
  for (const role of ["viewer", "operator"] as const)
    tokens[role] = (await createToken(server, `matrix-${role}`, role)).token;
  const cookies: Record<string, string> = {};
  for (const role of ["viewer", "operator", "admin"] as const) {
    await createUser(server, `matrix-${role}`, role, `password-of-${role}`);
    cookies[role] = await login(server, `matrix-${role}`, `password-of-${role}`);
  }
  callers.push(
    { name: "anonymous", role: "anonymous", headers: () => ({}) },
    { name: "viewer token", role: "viewer", headers: () => bearer(tokens.viewer) },
    { name: "operator token", role: "operator", headers: () => bearer(tokens.operator) },
    { name: "admin token", role: "admin", headers: () => bearer(TEST_TOKEN) },
    { name: "viewer session", role: "viewer", headers: () => browser(server, cookies.viewer) },
    { name: "operator session", role: "operator", headers: () => browser(server, cookies.operator) },
    { name: "admin session", role: "admin", headers: () => browser(server, cookies.admin) },
  );
});

afterAll(async () => {
  await server?.stop();
  if (dbUrl) await dropTestDatabase(dbUrl);
});

describe("the route list", () => {
  it("finds the routes (sanity: the walk works)", () => {
    expect(discovered.map((r) => r.key)).toEqual(
      expect.arrayContaining(["GET /health", "POST /auth/login", "GET /audit"]),
    );
  });

  it.each(discovered.map((r) => [r.key, r] as const))(
    "%s has a row in EXPECTED and goes through the route() wrapper",
    (key, r) => {
      expect(
        EXPECTED[key],
        `${key} (${r.file}) is not in EXPECTED of ${path.basename(__filename)}: decide who may call it`,
      ).toBeDefined();
      expect(r.usesWrapper, `${key} in ${r.file} must be built with route() so access control applies`).toBe(true);
      const sample = EXPECTED[key].sample;
      if (key.includes("{")) expect(sample, `${key} needs a sample path`).toBeDefined();
    },
  );

  it("changes state only for operators and admins (or the open sign-in routes)", () => {
    for (const r of discovered) {
      const access = EXPECTED[r.key]?.access;
      if (!access || SAFE.has(r.method)) continue;
      expect(
        access === "public" ? r.key.startsWith(`${r.method} /auth/`) : RANK[access] >= RANK.operator,
        `${r.key} is ${access}`,
      ).toBe(true);
    }
  });
});

describe.each(discovered.filter((r) => EXPECTED[r.key]).map((r) => [r.key, r] as const))("%s", (key, r) => {
  const { access, sample } = EXPECTED[key];
  const pathname = sample ?? key.slice(r.method.length + 1);

  const title =
    access === "public"
      ? "is open: anonymous and every role get through"
      : `anonymous gets 401; ${access === "viewer" ? "every role gets" : `roles below ${access} get 403, ${access} and above get`} through`;
  it(title, async () => {
    for (const caller of callers) {
      const reply = await call<{ error?: { code: string } }>(server, r.method, pathname, {
        body: SAFE.has(r.method) || r.method === "DELETE" ? undefined : {},
        headers: caller.headers(),
      });
      const where = `${caller.name} → ${r.method} ${pathname}: ${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`;
      if (caller.role === "anonymous") {
        if (access === "public") expect([401, 403], where).not.toContain(reply.status);
        else {
          expect(reply.status, where).toBe(401);
          expect(reply.body.error?.code, where).toBe("unauthenticated");
        }
      } else if (RANK[caller.role] >= RANK[access]) {
        expect([401, 403], where).not.toContain(reply.status);
      } else {
        expect(reply.status, where).toBe(403);
        expect(reply.body.error?.code, where).toBe("forbidden");
      }
      if (key === "GET /health" || key === "GET /openapi.json") expect(reply.status, where).toBe(200);
    }
  });
});
