// The method guard's table matches the route files, and a method a route does not export gets
// the error envelope (405 method_not_allowed with Allow) instead of Next's bare 405.
import { NextRequest } from "next/server";
import { describe, expect, it } from "vitest";
import { allowedMethods, guardApiMethod } from "@/lib/api/method-guard";
import { ROUTE_METHODS } from "@/lib/api/route-methods";
import { routeFiles } from "../helpers/route-files";

describe("the route methods table", () => {
  it("lists every route under app/api/v1 with exactly the methods it exports", () => {
    const found = routeFiles();
    const sorted = Object.fromEntries(Object.entries(found).sort(([a], [b]) => a.localeCompare(b)));
    // On a mismatch, the expected table is printed: paste it into lib/api/route-methods.ts.
    expect(ROUTE_METHODS, JSON.stringify(sorted, null, 2)).toEqual(sorted);
  });
});

describe("the method guard", () => {
  it("matches as Next does: static segments before parameters", () => {
    expect(allowedMethods("/api/v1/nbd/ports/allocate")).toEqual(["POST"]);
    expect(allowedMethods("/api/v1/nbd/ports/10100")).toEqual(["GET"]);
    expect(allowedMethods("/api/v1/nbd/ports/%61llocate")).toEqual(["POST"]);
    expect(allowedMethods("/api/v1/backups/j1/disks/d0/progress")).toEqual(["POST"]);
    expect(allowedMethods("/api/v1/no/such/route")).toBeUndefined();
    expect(allowedMethods("/elsewhere")).toBeUndefined();
  });

  it("answers a method the route does not take with 405 in the envelope, and lets the others through", async () => {
    const at = (method: string, p: string) => guardApiMethod(new NextRequest(`http://127.0.0.1${p}`, { method }));
    const refused = at("DELETE", "/api/v1/auth/login");
    expect(refused?.status).toBe(405);
    expect(refused?.headers.get("allow")).toBe("POST");
    expect(await refused?.json()).toMatchObject({
      error: { code: "method_not_allowed", details: { allow: ["POST"] } },
    });
    expect(at("PUT", "/api/v1/users/u1")?.headers.get("allow")).toBe("PATCH, DELETE");
    for (const [method, p] of [
      ["POST", "/api/v1/auth/login"],
      ["HEAD", "/api/v1/backups"],
      ["OPTIONS", "/api/v1/backups"],
      ["PUT", "/api/v1/no/such"],
    ]) {
      expect(at(method, p), `${method} ${p}`).toBeUndefined();
    }
  });
});
