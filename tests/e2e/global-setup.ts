// Starts the real console for the browser tests, as `npm start` would: its own embedded
// PostgreSQL under a fresh data directory, demo sources, real qemu-nbd. An unattended install
// (NBDHUB_ADMIN_PASSWORD) makes user `admin`; its signed-in cookie is saved as the storage
// state that tests/e2e/fixtures.ts gives every page, so specs start signed in.
import { mkdirSync, writeFileSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startServer } from "../helpers/server";

export const E2E_STATE = path.join(os.tmpdir(), `nbdhub-e2e-${process.env.NBDHUB_E2E_PORT}.json`);
/** Playwright storage state with the admin's session cookie. */
export const E2E_AUTH_STATE = path.join(os.tmpdir(), `nbdhub-e2e-${process.env.NBDHUB_E2E_PORT}-admin.json`);
export const E2E_TOKEN = process.env.NBDHUB_E2E_TOKEN ?? "e2e-bootstrap-token-0123456789abcdef0123";
/** The e2e server's stall settings (NBDHUB_STALL_SECONDS, NBDHUB_STALL_FAIL_SECONDS). */
export const E2E_STALL = { stallSeconds: 3, failSeconds: 10 };
export const E2E_ADMIN = { username: "admin", password: "e2e-admin-password-0123" };
/** The e2e server's node name (NBDHUB_NODE_NAME). */
export const E2E_NODE = "e2e-hub";

/** Sign in through the API and return the session cookie as Playwright stores it. */
export async function signInCookie(baseUrl: string, username: string, password: string) {
  const response = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: baseUrl },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 200)
    throw new Error(`signing in ${username} answered ${response.status}: ${await response.text()}`);
  const set = response.headers.getSetCookie().find((c) => c.startsWith("nbdhub_session="));
  if (!set) throw new Error("the sign-in answer set no session cookie");
  const maxAge = Number(/max-age=(\d+)/i.exec(set)?.[1] ?? "43200");
  return {
    name: "nbdhub_session",
    value: set.split(";")[0].slice("nbdhub_session=".length),
    domain: new URL(baseUrl).hostname,
    path: "/",
    expires: Math.floor(Date.now() / 1000) + maxAge,
    httpOnly: true,
    secure: false,
    sameSite: "Lax" as const,
  };
}

export default async function globalSetup() {
  // Run straight from `npx playwright test`, the build may be missing or stale (`npm test` builds first).
  if (!process.env.NBDHUB_SKIP_BUILD) {
    const { ensureBuild } = (await import(path.resolve(__dirname, "../../scripts/setup.mjs"))) as {
      ensureBuild: () => void;
    };
    ensureBuild();
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-e2e-"));
  await chmod(dataDir, 0o755);
  const server = await startServer(
    {
      NBDHUB_DATA_DIR: dataDir,
      NBDHUB_DEMO_SOURCES: "1",
      NBDHUB_BOOTSTRAP_TOKEN: E2E_TOKEN,
      NBDHUB_ADMIN_PASSWORD: E2E_ADMIN.password,
      NBDHUB_POOL_SAMPLE_SECONDS: "1",
      // Small stall times for console-stalls.spec.ts; external jobs keep the usual 300 s.
      NBDHUB_STALL_SECONDS: String(E2E_STALL.stallSeconds),
      NBDHUB_STALL_FAIL_SECONDS: String(E2E_STALL.failSeconds),
      NBDHUB_STALE_AFTER_SECONDS: "300",
      // console-nodes.spec.ts: a named node, and a short lease so a killed node reads lost soon.
      NBDHUB_NODE_NAME: E2E_NODE,
      NBDHUB_NODE_HEARTBEAT_SECONDS: "1",
      NBDHUB_NODE_LEASE_SECONDS: "4",
    },
    { port: Number(process.env.NBDHUB_E2E_PORT) },
  );
  writeFileSync(E2E_STATE, JSON.stringify({ pid: server.process.pid, dataDir }));
  const cookie = await signInCookie(server.url, E2E_ADMIN.username, E2E_ADMIN.password);
  writeFileSync(E2E_AUTH_STATE, JSON.stringify({ cookies: [cookie], origins: [] }), { mode: 0o600 });
  // Returned function = teardown: keep the server's log as an artifact, SIGTERM it, then remove
  // its data directory (its repository and Postgres: about 1 GiB a run, left in /tmp before).
  return async () => {
    mkdirSync(path.resolve(__dirname, "../artifacts"), { recursive: true });
    writeFileSync(path.resolve(__dirname, "../artifacts/e2e-server.log"), server.output());
    try {
      await server.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  };
}
