// API paths the router would fail on: undecodable percent-escapes and over-long paths.
import { describe, expect, it } from "vitest";
import { MAX_API_PATH_LENGTH, apiPathProblem } from "@/lib/api/path-guard";

describe("apiPathProblem", () => {
  it.each([
    "/api/v1/backups/%FF",
    "/api/v1/backups/%C0%AF/cancel",
    "/api/v1/x/%E0%A4%A",
    "/api/v1/%",
    "/api/v1/a%zz",
    "/api/v1/%ED%A0%80",
  ])("refuses %s as undecodable", (p) => {
    expect(apiPathProblem(p)?.reason).toBe("undecodable");
  });

  it("refuses a path over the limit, and takes one at it", () => {
    const at = `/api/v1/backups/${"x".repeat(MAX_API_PATH_LENGTH - "/api/v1/backups/".length)}`;
    expect(apiPathProblem(at)).toBeUndefined();
    expect(apiPathProblem(`${at}x`)?.reason).toBe("too_long");
  });

  it.each([
    "/api/v1/backups/web01.full-1",
    "/api/v1/backups/%C3%BC",
    "/api/v1/backups/%25FF",
    "/api/v1/backups/a%2Fb",
    "/api/v1/backups/%F0%9F%A6%84",
  ])("lets %s through", (p) => {
    expect(apiPathProblem(p)).toBeUndefined();
  });
});
