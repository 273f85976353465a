// The OpenAPI document (GET /api/v1/openapi.json) is valid OpenAPI 3.1, describes every route the
// code has and no other, and describes each with the role and the very zod schemas its route
// file hands to route(): a route added, removed or changed without the table in
// lib/api/contract.ts fails here, naming it.
import path from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { OPERATIONS } from "@/lib/api/contract";
import { buildOpenApiDocument, openApiPath } from "@/lib/api/openapi";
import type { RouteSpec } from "@/lib/api/route";
import { API_DIR, routeFiles } from "../helpers/route-files";

const document = buildOpenApiDocument();
const HTTP_METHODS = ["get", "post", "put", "patch", "delete"];

/** "METHOD /path/{param}" for every route file's exported method. */
function routesInCode(): string[] {
  return Object.entries(routeFiles())
    .flatMap(([folder, methods]) => methods.map((m) => `${m} ${openApiPath(folder)}`))
    .sort();
}

function routesInDocument(): string[] {
  return Object.entries(document.paths)
    .flatMap(([p, item]) =>
      Object.keys(item)
        .filter((k) => HTTP_METHODS.includes(k))
        .map((m) => `${m.toUpperCase()} ${p}`),
    )
    .sort();
}

describe("the OpenAPI document", () => {
  it("validates as OpenAPI 3.1 (@seriousme/openapi-schema-validator)", async () => {
    const validator = new Validator();
    const result = await validator.validate(document as never);
    expect(result.errors ?? [], "validation errors").toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(document.openapi).toBe("3.1.0");
  });

  it("describes every route in app/api/v1, and only those", () => {
    const code = routesInCode();
    const documented = routesInDocument();
    const undocumented = code.filter((r) => !documented.includes(r));
    const stale = documented.filter((r) => !code.includes(r));
    expect(undocumented, "routes in the code but not in lib/api/contract.ts").toEqual([]);
    expect(stale, "routes in lib/api/contract.ts that no route file exports").toEqual([]);
    expect(code.length).toBeGreaterThan(50);
  });

  it("names the role and the very schemas each route file gives route()", async () => {
    const mismatches: string[] = [];
    for (const op of OPERATIONS) {
      const file = path.join(API_DIR, op.path, "route.ts");
      const mod = (await import(file)) as Record<string, { spec?: RouteSpec<never, never, never> } | undefined>;
      const spec = mod[op.method]?.spec;
      const where = `${op.method} ${op.path}`;
      if (!spec) {
        mismatches.push(`${where}: the route file exports no route() handler for it`);
        continue;
      }
      if (spec.access !== op.access) mismatches.push(`${where}: access ${spec.access} in the file, ${op.access} here`);
      for (const part of ["params", "query", "body"] as const) {
        if (spec[part] !== op[part]) mismatches.push(`${where}: ${part} is not the schema the route file uses`);
      }
    }
    expect(mismatches.join("\n"), "route files and lib/api/contract.ts disagree").toBe("");
  });

  it("says how to authenticate and which role each route needs", () => {
    const schemes = document.components.securitySchemes as Record<string, { type: string; in?: string; name?: string }>;
    expect(schemes.sessionCookie).toMatchObject({ type: "apiKey", in: "cookie", name: "nbdhub_session" });
    expect(schemes.bearerToken).toMatchObject({ type: "http", scheme: "bearer" });
    const health = document.paths["/health"].get;
    expect(health.security).toEqual([]);
    expect(health["x-nbdhub-access"]).toBe("public");
    expect(document.paths["/openapi.json"].get.security).toEqual([]);
    const cancel = document.paths["/backups/{id}/cancel"].post;
    expect(cancel["x-nbdhub-access"]).toBe("operator");
    expect(cancel.security).toEqual([{ sessionCookie: [] }, { bearerToken: [] }]);
    expect(Object.keys(cancel.responses as object)).toEqual(expect.arrayContaining(["202", "401", "403", "409"]));
    expect(document.paths["/users"].post["x-nbdhub-access"]).toBe("admin");
  });

  it("takes requests as the validating schemas do, and answers in the named shapes", () => {
    const start = document.paths["/backups"].post as {
      requestBody: {
        content: { "application/json": { schema: { oneOf: { properties: Record<string, unknown> }[] } } };
      };
      responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
    };
    const variants = start.requestBody.content["application/json"].schema.oneOf;
    expect(variants.map((v) => v.properties.mover)).toEqual([
      { type: "string", const: "builtin" },
      { type: "string", const: "external" },
    ]);
    expect(start.responses["202"].content?.["application/json"].schema).toEqual({
      $ref: "#/components/schemas/BackupJob",
    });
    expect(start.responses["422"].content?.["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
    const list = document.paths["/backups"].get.parameters as { name: string; in: string; schema: object }[];
    expect(list.find((p) => p.name === "limit")).toMatchObject({
      in: "query",
      required: false,
      schema: { type: "integer", minimum: 1, maximum: 200, default: 50 },
    });
    const job = (document.components.schemas as Record<string, { properties: Record<string, unknown> }>).BackupJob;
    expect(job.properties.disks).toEqual({ type: "array", items: { $ref: "#/components/schemas/BackupDisk" } });
  });
});
