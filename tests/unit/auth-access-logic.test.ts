// The pure parts of access hardening (issue 11, items 6-9): where sign-in may send the
// browser, which host names are served, who the client is behind proxies, and what a token
// may do given who made it. The same behaviour is proven on the real server by
// tests/integration/auth-{hosts,first-run,throttle,token-owner}.test.ts.
import { describe, expect, it } from "vitest";
import { resolveClientAddress, normalizeAddress } from "@/lib/auth/client-address";
import { safeNextPath } from "@/lib/auth/cookie";
import { checkHost, hostnameOf } from "@/lib/auth/host-check";
import { normalizeSetupCode, newSetupCode } from "@/lib/auth/setup-code";
import { BOOTSTRAP_CREATOR, tokenStanding, type MakerUser, type TokenLink } from "@/lib/auth/token-standing";

describe("the page to go to after signing in", () => {
  it.each([
    ["/jobs", "/jobs"],
    ["/jobs/vm1.full?tab=disks#d0", "/jobs/vm1.full?tab=disks#d0"],
    ["/\t/evil.com", "/"],
    ["/\n/evil.com", "/"],
    ["/\r\n/evil.com", "/"],
    ["/ /evil.com", "/"],
    ["//evil.com", "/"],
    ["/\\evil.com", "/"],
    ["/\\/evil.com", "/"],
    ["/x\\..\\..\\/evil.com", "/"],
    ["\t//evil.com", "/"],
    ["https://evil.com", "/"],
    ["evil.com", "/"],
    ["/\u0000/evil.com", "/"],
    ["/\u00a0/evil.com", "/\u00a0/evil.com".replace("\u00a0", "%C2%A0")],
    ["/login", "/"],
    ["/setup?x=1", "/"],
    ["/login/../jobs", "/jobs"],
    ["", "/"],
    [null, "/"],
  ])("%j goes to %j", (next, expected) => {
    const result = safeNextPath(next);
    expect(result).toBe(expected);
    // Whatever it returns, a browser resolving it stays on this site.
    expect(new URL(result, "http://hub.example").origin).toBe("http://hub.example");
  });
});

describe("host names the console answers to", () => {
  const allowed = ["localhost", "127.0.0.1", "::1", "hub.example"];
  const check = (method: string, h: Record<string, string>) => checkHost(method, new Headers(h), allowed);

  it.each([
    ["127.0.0.1:3000", "127.0.0.1"],
    ["LOCALHOST", "localhost"],
    ["hub.example.:443", "hub.example"],
    ["[::1]:3000", "::1"],
    ["::1", "::1"],
    ["evil.example@127.0.0.1", null],
    ["", null],
  ])("reads the name of Host %j as %j", (host, name) => {
    expect(hostnameOf(host)).toBe(name);
  });

  it("refuses a Host or X-Forwarded-Host it does not know, with 421", () => {
    expect(check("GET", { host: "127.0.0.1:3000" })).toEqual({ ok: true });
    const refused = { ok: false, status: 421, code: "host_not_allowed" };
    expect(check("GET", { host: "rebind.evil.example:3000" })).toMatchObject(refused);
    expect(check("GET", { host: "127.0.0.1:3000", "x-forwarded-host": "evil.example" })).toMatchObject(refused);
    expect(check("GET", { host: "127.0.0.1:3000", "x-forwarded-host": "hub.example" })).toEqual({ ok: true });
  });

  it("refuses a state change whose Origin is a host it does not know, with 403", () => {
    const ok = { host: "hub.example" };
    expect(check("POST", { ...ok, origin: "https://hub.example" })).toEqual({ ok: true });
    const refused = { status: 403, code: "origin_not_allowed" };
    expect(check("POST", { ...ok, origin: "http://evil.example" })).toMatchObject(refused);
    expect(check("POST", { ...ok, origin: "not a url" })).toMatchObject({ status: 403 });
    // Reads are not checked for Origin; "null" is left to the CSRF check.
    expect(check("GET", { ...ok, origin: "http://evil.example" })).toEqual({ ok: true });
    expect(check("POST", { ...ok, origin: "null" })).toEqual({ ok: true });
  });
});

describe("the client's address", () => {
  const h = (values: Record<string, string>) => new Headers(values);
  const xff = (value: string) => h({ "x-forwarded-for": value });

  it("normalises what sockets and proxies write", () => {
    expect(normalizeAddress("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(normalizeAddress("[2001:db8::1]:443")).toBe("2001:db8::1");
    expect(normalizeAddress("192.0.2.1:5555")).toBe("192.0.2.1");
    expect(normalizeAddress("unknown")).toBeUndefined();
  });

  it("ignores X-Forwarded-For from a client that is not a trusted proxy", () => {
    const remote = { address: "192.0.2.9", local: false };
    expect(resolveClientAddress("192.0.2.9", xff("127.0.0.1"), [])).toEqual(remote);
    expect(resolveClientAddress("192.0.2.9", xff("10.0.0.1"), ["10.0.0.0/8"])).toEqual(remote);
  });

  it("walks back through trusted proxies only, from the right", () => {
    const chain = xff("203.0.113.7, 198.51.100.1, 10.0.0.2");
    expect(resolveClientAddress("10.0.0.1", chain, ["10.0.0.0/8"]).address).toBe("198.51.100.1");
    expect(resolveClientAddress("10.0.0.1", chain, ["10.0.0.0/8", "198.51.100.1"]).address).toBe("203.0.113.7");
    expect(resolveClientAddress("::ffff:10.0.0.1", chain, ["10.0.0.1"]).address).toBe("10.0.0.2");
  });

  it("is local only from loopback when nothing says the request was relayed", () => {
    // What `next start` writes when the client sent no X-Forwarded-For: the socket's address.
    expect(resolveClientAddress("127.0.0.1", xff("127.0.0.1"), [])).toEqual({ address: "127.0.0.1", local: true });
    expect(resolveClientAddress("::1", h({}), []).local).toBe(true);
    // A proxy on this machine that nobody configured as trusted still gives itself away.
    expect(resolveClientAddress("127.0.0.1", xff("203.0.113.7"), []).local).toBe(false);
    expect(resolveClientAddress("127.0.0.1", h({ "x-real-ip": "203.0.113.7" }), []).local).toBe(false);
    expect(resolveClientAddress("127.0.0.1", h({ forwarded: "for=203.0.113.7;proto=https" }), []).local).toBe(false);
    const viaProxy = resolveClientAddress("127.0.0.1", xff("203.0.113.7"), ["127.0.0.1"]);
    expect(viaProxy).toEqual({ address: "203.0.113.7", local: false });
    // No stamp: no address, and never local.
    const unstamped = resolveClientAddress(undefined, xff("127.0.0.1"), ["127.0.0.1"]);
    expect(unstamped).toEqual({ address: undefined, local: false });
  });
});

describe("the one-time setup code", () => {
  it("has 100 random bits in four groups, and is read back forgivingly", () => {
    const code = newSetupCode();
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}$/);
    expect(newSetupCode()).not.toBe(code);
    expect(normalizeSetupCode(` ${code.toLowerCase().replace(/-/g, " ")} `)).toBe(code.replace(/-/g, ""));
    expect(normalizeSetupCode("oIl0-1")).toBe("01101");
  });
});

describe("what a token may do, given who made it", () => {
  const now = new Date();
  const token = (over: Partial<TokenLink>): TokenLink => ({
    id: "t",
    role: "admin",
    createdBy: "alice",
    createdByUserId: "u-alice",
    createdByTokenId: null,
    revokedAt: null,
    ...over,
  });
  const users = new Map<string, MakerUser>([
    ["u-alice", { username: "alice", role: "admin", disabled: false }],
    ["u-otto", { username: "otto", role: "operator", disabled: false }],
    ["u-dora", { username: "dora", role: "admin", disabled: true }],
  ]);
  const bootstrap = token({ id: "boot", createdBy: BOOTSTRAP_CREATOR, createdByUserId: null });
  const tokens = new Map<string, TokenLink>([
    ["boot", bootstrap],
    ["alice-admin", token({ id: "alice-admin" })],
    ["revoked", token({ id: "revoked", revokedAt: now })],
  ]);
  const load = { user: (id: string) => users.get(id) ?? null, token: (id: string) => tokens.get(id) ?? null };
  const standing = (over: Partial<TokenLink>) => tokenStanding(token(over), load);

  it("keeps its own role under a maker of at least that role", async () => {
    expect(await tokenStanding(token({ role: "viewer" }), load)).toEqual({ role: "viewer", refusedBecause: null });
    expect(await tokenStanding(bootstrap, load)).toEqual({ role: "admin", refusedBecause: null });
  });

  it("is capped at its maker's current role", async () => {
    expect(await standing({ createdByUserId: "u-otto" })).toEqual({ role: "operator", refusedBecause: null });
  });

  it("is refused when its maker is disabled, deleted, or a revoked token", async () => {
    expect((await standing({ createdByUserId: "u-dora" })).refusedBecause).toMatch(/dora.*disabled/);
    expect((await standing({ createdByUserId: "u-gone" })).refusedBecause).toMatch(/deleted/);
    // The foreign key sets the maker to NULL when the user row goes.
    expect((await standing({ createdByUserId: null })).refusedBecause).toMatch(/deleted/);
    expect((await standing({ createdByTokenId: "revoked" })).refusedBecause).toMatch(/made with was revoked/);
    expect((await standing({ revokedAt: now })).refusedBecause).toBe("it was revoked");
  });

  it("follows the tokens it was made with", async () => {
    const works = { role: "admin", refusedBecause: null };
    expect(await standing({ createdByUserId: null, createdByTokenId: "boot" })).toEqual(works);
    expect(await standing({ createdByTokenId: "alice-admin" })).toEqual(works);
    const cycle = new Map<string, TokenLink>([
      ["a", token({ id: "a", createdByUserId: null, createdByTokenId: "b" })],
      ["b", token({ id: "b", createdByUserId: null, createdByTokenId: "a" })],
    ]);
    const inCycle = await tokenStanding(cycle.get("a")!, { user: load.user, token: (id) => cycle.get(id) ?? null });
    expect(inCycle.role).toBeNull();
  });
});
