// The harness's server launcher (tests/helpers/launch-server.ts) keeps its promises to the
// tests, the benchmark and the fault campaign: a server that dies before it is healthy fails
// the start at once with its log; one that will not stop is killed and reported; a crash is
// told apart from a stop; a file sink keeps the log. The server here is a stand-in `next` (a
// few lines of Node in a fake repository), so that it can misbehave on purpose.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchServer, type LaunchedServer, type ServerExit } from "../helpers/launch-server";
import { freePort } from "../helpers/ports";
import { withDeadline } from "../helpers/wait";

// `next start -H host -p port`, as far as the launcher can tell: answers /api/v1/health, echoes
// the bearer token it got, and misbehaves as FAKE_MODE says.
const FAKE_NEXT = `#!/usr/bin/env node
const http = require("node:http");
const mode = process.env.FAKE_MODE || "";
console.log(
  "fake next " + process.argv.slice(2).join(" ") + " token " + process.env.NBDHUB_BOOTSTRAP_TOKEN +
    " node options " + process.execArgv.join(" ") + " malloc arenas " + process.env.MALLOC_ARENA_MAX,
);
if (mode === "die") {
  console.error("NBDHUB_PORT_RANGE is not valid");
  process.exit(3);
}
process.on("SIGTERM", () => {
  if (mode === "stubborn") return console.log("ignoring SIGTERM");
  console.log("stopping in order");
  process.exit(143);
});
http.createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ path: req.url, authorization: req.headers.authorization || null }));
}).listen(Number(process.env.PORT), process.env.HOST);
`;

let root: string;
const launched: LaunchedServer[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "nbdhub-fake-repo-"));
  // Where Next's CLI script is; the launcher runs it with Node (and the server's Node options).
  await mkdir(path.join(root, "node_modules", "next", "dist", "bin"), { recursive: true });
  await writeFile(path.join(root, "node_modules", "next", "dist", "bin", "next"), FAKE_NEXT);
});

afterAll(async () => {
  for (const server of launched) await server.kill();
  await rm(root, { recursive: true, force: true });
});

async function launch(mode: string, extra: Partial<Parameters<typeof launchServer>[0]> = {}): Promise<LaunchedServer> {
  const server = await launchServer({
    root,
    dataDir: path.join(root, `data-${mode || "plain"}`),
    port: await freePort(),
    token: "launcher-test-token",
    env: { FAKE_MODE: mode },
    ...extra,
  });
  launched.push(server);
  return server;
}

describe("the server launcher", () => {
  it("starts next with the token, waits for health, and stops it with SIGTERM (exit code back)", async () => {
    const server = await launch("");
    expect(server.output()).toContain(
      `fake next start -H 127.0.0.1 -p ${server.port} --keepAliveTimeout 65000 token launcher-test-token`,
    );
    // As `npm start` runs it (scripts/next-start.mjs): the memory settings (issue 15), V8 pool (13).
    expect(server.output()).toContain("node options --max-semi-space-size=4 --v8-pool-size=0 malloc arenas 2");
    expect(server.startMs).toBeGreaterThan(0);
    const answer = await server.api<{ path: string; authorization: string }>("GET", "/jobs");
    expect(answer).toEqual({
      status: 200,
      body: { path: "/api/v1/jobs", authorization: "Bearer launcher-test-token" },
    });
    expect(await server.stop()).toBe(143);
    expect(server.output()).toContain("stopping in order");
    expect(server.alive()).toBe(false);
  });

  it("fails a start at once, with the log's tail, when the server exits before it is healthy", async () => {
    const started = Date.now();
    const failure = await launch("die", { healthTimeoutMs: 60_000 }).then(
      () => new Error("the start succeeded"),
      (error: Error) => error,
    );
    expect(failure.message).toMatch(/the server exited \(exit code 3\) before it was healthy/);
    expect(failure.message).toContain("NBDHUB_PORT_RANGE is not valid");
    expect(Date.now() - started, "it must not wait out the health deadline").toBeLessThan(30_000);
  });

  it("kills a server that does not stop after SIGTERM, and says so", async () => {
    const server = await launch("stubborn");
    const failure = await server.stop({ graceMs: 1_000 }).then(
      () => new Error("stop() resolved"),
      (error: Error) => error,
    );
    expect(failure.message).toMatch(
      /timed out after 1000 ms waiting for the server to shut down after SIGTERM; it was killed/,
    );
    expect(failure.message).toContain("ignoring SIGTERM");
    expect((await server.exited).signal).toBe("SIGKILL");
  });

  it("tells a crash from a stop, and keeps a file sink's log", async () => {
    const crashes: ServerExit[] = [];
    const logFile = path.join(root, "server.log");
    const crashed = await launch("", { log: { file: logFile }, onUnexpectedExit: (e) => crashes.push(e) });
    process.kill(crashed.process.pid!, "SIGKILL");
    await withDeadline(crashed.exited, 10_000, "the crashed server to exit");
    expect(crashes).toEqual([{ code: null, signal: "SIGKILL" }]);
    expect(await readFile(logFile, "utf8")).toContain("fake next start");
    expect(crashed.logTail(1)).toMatch(/^fake next start/);

    const stopped = await launch("", { onUnexpectedExit: (e) => crashes.push(e) });
    await stopped.stop();
    await stopped.kill();
    expect(crashes).toHaveLength(1);
  });
});
