// The API's conventions that every route shares, checked on the real server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { startServer, type TestServer } from "../helpers/server";

let server: TestServer;
let url: string;
beforeAll(async () => {
  url = await createTestDatabase("conv");
  server = await startServer({ DATABASE_URL: url });
});
afterAll(async () => {
  await server?.stop();
  await dropTestDatabase(url);
});

describe("API conventions", () => {
  it("answers an unknown API path with the error envelope", async () => {
    const r = await server.api<{ error: { code: string } }>("GET", "/no-such-thing");
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("not_found");
  });

  it("health is open and says what it checked", async () => {
    const r = await fetch(`${server.url}/api/v1/health`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/application\/json/);
  });
});
