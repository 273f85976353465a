// GET /api/v1/openapi.json on the built server: open to anyone (no token, no cookie, even a bad
// token), JSON, the document the code builds; the proxy's guards still apply to it (a method it
// does not take, a host the console does not answer to), and the routes it describes stay closed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "@/lib/api/openapi";
import { ServerFleet } from "../helpers/server-fleet";
import type { TestServer } from "../helpers/server";
import { bearer, call, rawRequest } from "./auth-support";

const fleet = new ServerFleet("openapi");
let server: TestServer;

beforeAll(async () => {
  server = await fleet.start();
});

afterAll(() => fleet.end());

describe("GET /api/v1/openapi.json", () => {
  it("answers 200 JSON without a token: the OpenAPI 3.1 document of every route", async () => {
    const reply = await call<{ openapi: string; paths: Record<string, unknown> }>(server, "GET", "/openapi.json");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
    expect(reply.body.openapi).toBe("3.1.0");
    expect(Object.keys(reply.body.paths)).toEqual(expect.arrayContaining(["/backups", "/backups/{id}/cancel"]));
    expect(reply.body, "the server serves what lib/api/openapi.ts builds").toEqual(
      JSON.parse(JSON.stringify(buildOpenApiDocument())),
    );
    // The routes it describes are not opened by it.
    expect((await call(server, "GET", "/backups")).status).toBe(401);
  });

  it("answers with a token that is not valid, too (the contract is no secret)", async () => {
    const reply = await call(server, "GET", "/openapi.json", { headers: bearer("not-a-token-of-this-hub") });
    expect(reply.status).toBe(200);
  });

  it("keeps the API's guards: 405 for another method, 421 for a foreign host", async () => {
    const post = await call<{ error: { code: string } }>(server, "POST", "/openapi.json", { body: {} });
    expect(post.status).toBe(405);
    expect(post.body.error.code).toBe("method_not_allowed");
    expect(post.headers.get("allow")).toBe("GET");
    const foreign = await rawRequest(`${server.url}/api/v1/openapi.json`, { headers: { host: "evil.example" } });
    expect(foreign.status).toBe(421);
  });
});
