// GET /health is open to anyone, so it must not spawn a process per request (issue 11, item
// 11): qemu-nbd's version is asked once and remembered. A `qemu-nbd` first on the server's
// PATH writes a line to a file each time it is asked for its version, then runs the real one.
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { startServer, type TestServer } from "../helpers/server";
import { call } from "./auth-support";

let server: TestServer;
let dbUrl: string;
let binDir: string;
let countFile: string;

async function versionRuns(): Promise<number> {
  const text = await readFile(countFile, "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).length;
}

beforeAll(async () => {
  binDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-qemu-nbd-counter-"));
  await chmod(binDir, 0o755);
  countFile = path.join(binDir, "version-runs");
  const realQemuNbd = execFileSync("sh", ["-c", "command -v qemu-nbd"], { encoding: "utf8" }).trim();
  // The file name is written into the script: a child's environment may be trimmed.
  await writeFile(
    path.join(binDir, "qemu-nbd"),
    `#!/bin/sh\nif [ "$1" = "--version" ]; then echo run >> '${countFile}'; fi\nexec ${realQemuNbd} "$@"\n`,
    { mode: 0o755 },
  );
  dbUrl = await createTestDatabase("healthver");
  server = await startServer({ DATABASE_URL: dbUrl, PATH: `${binDir}:${process.env.PATH ?? "/usr/bin:/bin"}` });
});

afterAll(async () => {
  await server?.stop();
  if (dbUrl) await dropTestDatabase(dbUrl);
  if (binDir) await rm(binDir, { recursive: true, force: true });
});

describe("health", () => {
  it("asks qemu-nbd for its version once, however many requests come", async () => {
    // startServer already polled /health until it answered ok.
    const before = await versionRuns();
    expect(before, "the counting qemu-nbd was never run: is it first on the server's PATH?").toBeGreaterThan(0);
    const health = () => call<{ status: string; qemuNbd: string }>(server, "GET", "/health");
    const answers = await Promise.all(Array.from({ length: 30 }, health));
    for (const r of answers) {
      expect(r.status).toBe(200);
      expect(r.body.qemuNbd).toMatch(/^\d+\.\d+/);
    }
    for (let i = 0; i < 10; i++) expect((await call(server, "GET", "/health")).status).toBe(200);
    expect(await versionRuns()).toBe(1);
  });
});
