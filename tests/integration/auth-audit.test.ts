// The audit trail on the real server: every state-changing request leaves a row (allowed,
// denied or failed, with actor, action, target, status, address), sign-ins and user/token
// changes included; admins read it newest first with filters and pages.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { startServer, type TestServer } from "../helpers/server";
import { bearer, browser, call, createToken, createUser, login } from "./auth-support";

type Row = {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  result: string;
  status: number | null;
  clientIp: string | null;
  details: Record<string, unknown> | null;
};
type Page = { items: Row[]; nextCursor: string | null };

let server: TestServer;
let dbUrl: string;
let operator: string;
let viewer: string;

const audit = async (query = "") => {
  const r = await server.api<Page>("GET", `/audit${query}`);
  expect(r.status).toBe(200);
  return r.body;
};

beforeAll(async () => {
  dbUrl = await createTestDatabase("authaudit");
  // The test speaks as a trusted proxy (127.0.0.1), so the address it forwards is recorded.
  server = await startServer({ DATABASE_URL: dbUrl, NBDHUB_TRUSTED_PROXIES: "127.0.0.1" });
  operator = (await createToken(server, "audit-op", "operator")).token;
  viewer = (await createToken(server, "audit-viewer", "viewer")).token;
});

afterAll(async () => {
  await server?.stop();
  if (dbUrl) await dropTestDatabase(dbUrl);
});

describe("the audit trail", () => {
  it("records an allowed state change with who, what, target, status and address", async () => {
    const r = await call<{ port: number }>(server, "POST", "/nbd/ports/allocate", {
      body: { jobId: "audit-job-1", vmName: "vm1", exportName: "vm1-disk0" },
      headers: { ...bearer(operator), "x-forwarded-for": "192.0.2.10" },
    });
    expect(r.status).toBe(201);
    const [row] = (await audit("?action=port.allocate")).items;
    expect(row).toMatchObject({
      actor: "token:audit-op",
      action: "port.allocate",
      result: "allowed",
      status: 201,
      clientIp: "192.0.2.10",
    });
    expect(row.target).toContain("audit-job-1");
    expect(Date.now() - new Date(row.at).getTime()).toBeLessThan(60_000);
    await call(server, "POST", "/nbd/ports/release", { body: { jobId: "audit-job-1" }, headers: bearer(operator) });
  });

  it("records refusals: anonymous (401) and a viewer (403), without running the action", async () => {
    await call(server, "POST", "/nbd/ports/allocate", {
      body: { jobId: "audit-job-2", vmName: "vm", exportName: "e" },
    });
    await call(server, "POST", "/nbd/ports/allocate", {
      body: { jobId: "audit-job-3", vmName: "vm", exportName: "e" },
      headers: bearer(viewer),
    });
    const denied = (await audit("?action=port.allocate&result=denied")).items;
    expect(denied.map((d) => [d.actor, d.status])).toEqual([
      ["token:audit-viewer", 403],
      ["anonymous", 401],
    ]);
    const ports = await server.api<{ allocations: { jobId: string }[] }>("GET", "/nbd/ports");
    expect(ports.body.allocations.map((a) => a.jobId)).not.toContain("audit-job-3");
  });

  it("records failed requests (validation) as failed, with the error code", async () => {
    await call(server, "POST", "/nbd/ports/allocate", { body: { jobId: "" }, headers: bearer(operator) });
    const [row] = (await audit("?action=port.allocate&result=failed")).items;
    expect(row).toMatchObject({ actor: "token:audit-op", result: "failed", status: 422 });
    expect(row.details?.code).toBe("validation_failed");
  });

  it("records sign-in success and failure, user and token changes", async () => {
    const { id } = await createUser(server, "carol", "operator", "carol-password");
    await call(server, "POST", "/auth/login", { body: { username: "carol", password: "wrong-password" } });
    const cookie = await login(server, "carol", "carol-password");
    await server.api("PATCH", `/users/${id}`, { role: "viewer" });
    const tok = await createToken(server, "short-lived", "viewer");
    await server.api("DELETE", `/tokens/${tok.id}`);
    await call(server, "POST", "/auth/logout", { headers: browser(server, cookie) });

    const rows = (await audit()).items;
    const find = (action: string, result: string) => rows.find((r) => r.action === action && r.result === result);
    expect(find("user.create", "allowed")).toMatchObject({ actor: "token:bootstrap", target: "user:carol" });
    expect(find("auth.login", "denied")).toMatchObject({ actor: "anonymous", target: "carol", status: 401 });
    expect(find("auth.login", "allowed")).toMatchObject({ actor: "carol", target: "carol", status: 200 });
    expect(find("user.update", "allowed")).toMatchObject({ target: "user:carol" });
    expect(find("user.update", "allowed")?.details).toMatchObject({ role: "viewer" });
    expect(find("token.create", "allowed")).toMatchObject({ target: "token:short-lived" });
    expect(find("token.revoke", "allowed")).toMatchObject({ target: "token:short-lived" });
    expect(find("auth.logout", "allowed")).toMatchObject({ actor: "carol" });
  });

  it("does not record plain reads", async () => {
    const before = (await audit("?limit=1")).items[0].id;
    await server.api("GET", "/nbd/ports");
    await server.api("GET", "/users");
    expect((await audit("?limit=1")).items[0].id).toBe(before);
  });

  it("filters by actor, action prefix, target, result and time, newest first, in pages", async () => {
    const all = (await audit("?limit=500")).items;
    const ids = all.map((r) => BigInt(r.id));
    expect([...ids].sort((a, b) => (b > a ? 1 : b < a ? -1 : 0))).toEqual(ids);

    expect((await audit("?actor=carol")).items.every((r) => r.actor === "carol")).toBe(true);
    const auth = (await audit("?action=auth.")).items;
    expect(auth.length).toBeGreaterThan(1);
    expect(auth.every((r) => r.action.startsWith("auth."))).toBe(true);
    expect((await audit("?target=short-lived")).items.map((r) => r.action).sort()).toEqual([
      "token.create",
      "token.revoke",
    ]);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await audit(`?from=${encodeURIComponent(future)}`)).items).toHaveLength(0);
    expect((await audit(`?to=${encodeURIComponent(future)}&limit=500`)).items).toHaveLength(all.length);

    const first = await audit("?limit=2");
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toBe(first.items[1].id);
    const second = await audit(`?limit=2&cursor=${first.nextCursor}`);
    expect(second.items[0].id).toBe(all[2].id);

    const bad = await server.api<{ error: { code: string } }>("GET", "/audit?from=yesterday");
    expect(bad.status).toBe(422);
  });

  it("is for admins only", async () => {
    expect((await call(server, "GET", "/audit", { headers: bearer(operator) })).status).toBe(403);
    expect((await call(server, "GET", "/audit")).status).toBe(401);
  });
});
