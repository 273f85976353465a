// Brute-force brake for sign-in, per account and per client address. Failures are the
// `auth.login` rows of the audit trail (reason bad_credentials), so the brake survives a
// restart, holds across server processes, and needs no table of its own.
//
// Policy: a few failures are free; after that each attempt must wait 5 s, 10 s, 20 s, ...
// (doubling, at most 15 min) after the latest failure. Failures older than the window are
// forgotten; an account's count restarts after its next successful sign-in (an address's
// does not, or an attacker with one account could reset it).
import "server-only";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "@/lib/db/prisma";

export const LOGIN_ACTION = "auth.login";
export const BAD_CREDENTIALS = "bad_credentials";
export const THROTTLED = "throttled";

const WINDOW_MS = 15 * 60_000;
const FREE_PER_ACCOUNT = 5;
const FREE_PER_ADDRESS = 20;
const BASE_DELAY_S = 5;
const MAX_DELAY_S = 15 * 60;

export function delaySeconds(failures: number, free: number): number {
  if (failures < free) return 0;
  return Math.min(BASE_DELAY_S * 2 ** Math.min(failures - free, 20), MAX_DELAY_S);
}

async function failures(db: Db, where: Prisma.AuditEventWhereInput): Promise<{ count: number; last: Date | null }> {
  const r = await db.auditEvent.aggregate({
    where: { action: LOGIN_ACTION, result: "denied", details: { path: ["reason"], equals: BAD_CREDENTIALS }, ...where },
    _count: { _all: true },
    _max: { at: true },
  });
  return { count: r._count._all, last: r._max.at };
}

/** Seconds the caller must still wait before trying this account from this address (0: go). */
export async function loginWaitSeconds(db: Db, username: string, clientIp: string | undefined): Promise<{ seconds: number; scope: "account" | "address" | null }> {
  const now = Date.now();
  const since = new Date(now - WINDOW_MS);
  const lastSuccess = await db.auditEvent.findFirst({
    where: { action: LOGIN_ACTION, result: "allowed", target: username, at: { gte: since } },
    orderBy: { id: "desc" },
    select: { at: true },
  });
  const accountSince = lastSuccess && lastSuccess.at > since ? lastSuccess.at : since;
  const account = await failures(db, { target: username, at: { gt: accountSince } });
  const address = clientIp ? await failures(db, { clientIp, at: { gt: since } }) : { count: 0, last: null };
  const waitFor = (f: { count: number; last: Date | null }, free: number) =>
    f.last ? Math.max(0, Math.ceil((f.last.getTime() + delaySeconds(f.count, free) * 1000 - now) / 1000)) : 0;
  const a = waitFor(account, FREE_PER_ACCOUNT);
  const b = waitFor(address, FREE_PER_ADDRESS);
  if (a === 0 && b === 0) return { seconds: 0, scope: null };
  return a >= b ? { seconds: a, scope: "account" } : { seconds: b, scope: "address" };
}

// Parallel attempts would all read the count before any of them is written; running the
// attempts for one account (and one address) one after another closes that gap in this process.
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

/** Run a sign-in attempt alone for its account, then alone for its address (always in that order, so no cycle). */
export function oneAttemptAtATime<T>(username: string, clientIp: string | undefined, fn: () => Promise<T>): Promise<T> {
  return serialized(`user:${username}`, () => (clientIp ? serialized(`ip:${clientIp}`, fn) : fn()));
}
