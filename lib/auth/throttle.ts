// Brute-force brake for sign-in, per (client address, account) and per client address. The
// address is the real one (lib/auth/client-address.ts: X-Forwarded-For only from trusted
// proxies), so a client can neither hop addresses to escape the brake nor borrow the real
// admin's address to lock them out. There is deliberately no brake per account alone: that
// would let any stranger keep `admin` locked out; argon2's cap (password-gate.ts) bounds
// how fast guesses from many addresses can go.
//
// Failures live in `login_failures` (not in the audit trail, whose refused rows may be
// aggregated under a flood), so the brake survives a restart and holds across processes.
// Policy: a few failures are free; after that each attempt must wait 5 s, 10 s, 20 s, ...
// (doubling, at most 15 min) after the latest failure. Failures older than the window are
// forgotten; a pair's failures end with its next successful sign-in (an address's do not,
// or an attacker with one account could reset it).
import "server-only";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "@/lib/db/prisma";

export const BAD_CREDENTIALS = "bad_credentials";
export const THROTTLED = "throttled";

const WINDOW_MS = 15 * 60_000;
const FREE_PER_PAIR = 5;
const FREE_PER_ADDRESS = 20;
const BASE_DELAY_S = 5;
const MAX_DELAY_S = 15 * 60;
/** Expired failures are deleted at most this often per process. */
const PRUNE_EVERY_MS = 60_000;

export type ThrottleScope = "account" | "address";

function delaySeconds(failures: number, free: number): number {
  if (failures < free) return 0;
  return Math.min(BASE_DELAY_S * 2 ** Math.min(failures - free, 20), MAX_DELAY_S);
}

async function failures(db: Db, where: Prisma.LoginFailureWhereInput): Promise<{ count: number; last: Date | null }> {
  const r = await db.loginFailure.aggregate({ where, _count: { _all: true }, _max: { at: true } });
  return { count: r._count._all, last: r._max.at };
}

/**
 * Seconds the caller must still wait before trying this account from this address (0: go).
 * `account` means this address has failed too often for this account; `address` that it
 * has failed too often overall. An unknown address (no peer stamp) is one address of its own.
 */
export async function loginWaitSeconds(
  db: Db,
  username: string,
  clientIp: string | undefined,
): Promise<{ seconds: number; scope: ThrottleScope | null }> {
  const now = Date.now();
  const since = new Date(now - WINDOW_MS);
  const address = clientIp ?? null;
  const [pair, all] = await Promise.all([
    failures(db, { username, clientIp: address, at: { gt: since } }),
    failures(db, { clientIp: address, at: { gt: since } }),
  ]);
  const waitFor = (f: { count: number; last: Date | null }, free: number) =>
    f.last ? Math.max(0, Math.ceil((f.last.getTime() + delaySeconds(f.count, free) * 1000 - now) / 1000)) : 0;
  const a = waitFor(pair, FREE_PER_PAIR);
  const b = waitFor(all, FREE_PER_ADDRESS);
  if (a === 0 && b === 0) return { seconds: 0, scope: null };
  return a >= b ? { seconds: a, scope: "account" } : { seconds: b, scope: "address" };
}

let lastPrune = 0;

/** Count a failed sign-in; now and then drop the failures that no longer count. */
export async function recordLoginFailure(db: Db, username: string, clientIp: string | undefined): Promise<void> {
  await db.loginFailure.create({ data: { username, clientIp: clientIp ?? null } });
  const now = Date.now();
  if (now - lastPrune > PRUNE_EVERY_MS) {
    lastPrune = now;
    await db.loginFailure.deleteMany({ where: { at: { lt: new Date(now - WINDOW_MS) } } });
  }
}

/** A successful sign-in forgives this address's failures for this account. */
export async function clearLoginFailures(db: Db, username: string, clientIp: string | undefined): Promise<void> {
  await db.loginFailure.deleteMany({ where: { username, clientIp: clientIp ?? null } });
}

// Parallel attempts would all read the count before any of them is written; running the
// attempts of one address one after another closes that gap in this process. Both scopes
// include the address, so one queue per address covers both. Other addresses never wait.
const queues = new Map<string, Promise<unknown>>();

async function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(fn);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  try {
    return await run;
  } finally {
    if (queues.get(key) === tail) queues.delete(key);
  }
}

/** Run a sign-in attempt alone for its address (for its account when the address is unknown). */
export function oneAttemptAtATime<T>(username: string, clientIp: string | undefined, fn: () => Promise<T>): Promise<T> {
  return serialized(clientIp ? `ip:${clientIp}` : `user:${username}`, fn);
}
