// The sign-in brake and the argon2 cap on the real server (issue 11, items 8 and 11):
// - X-Forwarded-For is believed only from NBDHUB_TRUSTED_PROXIES: a client that names a new
//   address on every attempt is still one address to the brake;
// - the brake is per (address, account) and per address: a stranger failing from elsewhere
//   cannot lock the real admin out;
// - password hashing is capped, with a bounded queue: a burst of anonymous sign-ins beyond it
//   is answered at once with 429 too_busy and Retry-After, never a 5xx.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { startServer, type TestServer } from "../helpers/server";
import { call, createUser, sessionCookieOf } from "./auth-support";

type Envelope = { error: { code: string; message: string; details?: { scope?: string } } };
type AuditPage = { items: { action: string; target: string | null; clientIp: string | null }[] };

const ADMIN_PASSWORD = "throttle-admin-password";

/** No proxy trusted: the client is the socket, whatever it claims. */
let direct: TestServer;
/** 127.0.0.1 is a trusted proxy: the test is the proxy and says who the client is. */
let proxied: TestServer;
const databases: string[] = [];

beforeAll(async () => {
  const [a, b] = await Promise.all([createTestDatabase("throttle_direct"), createTestDatabase("throttle_proxied")]);
  databases.push(a, b);
  [direct, proxied] = await Promise.all([
    startServer({ DATABASE_URL: a, NBDHUB_ADMIN_PASSWORD: ADMIN_PASSWORD }),
    startServer({
      DATABASE_URL: b,
      NBDHUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
      NBDHUB_TRUSTED_PROXIES: "127.0.0.1",
      NBDHUB_PASSWORD_HASH_CONCURRENCY: "1",
      NBDHUB_PASSWORD_HASH_QUEUE: "2",
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([direct?.stop(), proxied?.stop()]);
  for (const url of databases) await dropTestDatabase(url);
});

const signIn = (server: TestServer, username: string, password: string, claimedAddress?: string) =>
  call<Envelope>(server, "POST", "/auth/login", {
    body: { username, password },
    headers: { origin: server.url, ...(claimedAddress ? { "x-forwarded-for": claimedAddress } : {}) },
  });

describe("a client that names its own address", () => {
  it("is still one address to the brake, and is recorded as the socket's address", async () => {
    for (let i = 0; i < 20; i++) {
      const r = await signIn(direct, `nobody-${i}`, "guess-guess", `10.77.${i}.1`);
      expect(r.status, `attempt ${i + 1}`).toBe(401);
    }
    const blocked = await signIn(direct, "nobody-20", "guess-guess", "10.77.20.1");
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe("too_many_attempts");
    expect(blocked.body.error.details?.scope).toBe("address");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);

    const audit = await direct.api<AuditPage>("GET", "/audit?action=auth.login&limit=50");
    const addresses = new Set(audit.body.items.map((row) => row.clientIp));
    expect([...addresses]).toEqual(["127.0.0.1"]);
  });
});

describe("a stranger failing from another address", () => {
  it("slows down only themselves: the real admin signs in from their own address", async () => {
    const stranger = "198.51.100.7";
    for (let i = 0; i < 8; i++) await signIn(proxied, "admin", `wrong-${i}`, stranger);

    const admin = await signIn(proxied, "admin", ADMIN_PASSWORD, "192.0.2.50");
    expect(admin.status, JSON.stringify(admin.body)).toBe(200);
    expect(sessionCookieOf(admin.headers)).toMatch(/^nbdhub_session=/);
    // The stranger is still held back, even with the right password, for this account.
    const strangerAgain = await signIn(proxied, "admin", ADMIN_PASSWORD, stranger);
    expect(strangerAgain.status).toBe(429);
    expect(strangerAgain.body.error.details?.scope).toBe("account");
    // A trusted proxy's word is what the audit trail records.
    const audit = await proxied.api<AuditPage>("GET", "/audit?action=auth.login&limit=20");
    expect(audit.body.items.map((row) => row.clientIp)).toEqual(expect.arrayContaining([stranger, "192.0.2.50"]));
  });

  it("still slows down one address guessing one account, even with the right password", async () => {
    await createUser(proxied, "bruno", "viewer", "bruno-password");
    for (let i = 0; i < 5; i++) expect((await signIn(proxied, "bruno", `wrong-${i}`, "10.1.0.1")).status).toBe(401);
    const blocked = await signIn(proxied, "bruno", "bruno-password", "10.1.0.1");
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.message).toMatch(/try again in \d+ s/);
    expect((await signIn(proxied, "bruno", "bruno-password", "10.1.0.2")).status).toBe(200);
  });
});

describe("a burst of anonymous sign-ins", () => {
  it("runs a bounded number of password checks and turns the rest away at once with 429 and Retry-After", async () => {
    // From 40 addresses at once (through the trusted proxy), so the brake per address does not
    // serialise them: only the cap (1 running, 2 waiting here) stands between them and argon2.
    const attempts = await Promise.all(
      Array.from({ length: 40 }, (_, i) => signIn(proxied, `burst-${i}`, "guess-guess", `10.88.${i}.1`)),
    );
    const statuses = attempts.map((r) => r.status);
    expect(
      statuses.every((s) => s === 401 || s === 429),
      statuses.join(","),
    ).toBe(true);
    const busy = attempts.filter((r) => r.status === 429);
    expect(busy.length, statuses.join(",")).toBeGreaterThan(0);
    for (const r of busy) {
      expect(r.body.error.code).toBe("too_busy");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    // The cap holds the burst back without refusing everyone.
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(3);
  });
});
