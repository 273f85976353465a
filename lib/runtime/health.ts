// Health: really asks the database; qemu-nbd's version is asked once and then remembered
// (health is open to anyone: it must not spawn a process per request).
import "server-only";
import { runChild } from "@/lib/proc/child";
import type { Db } from "@/lib/db/prisma";
import { firstLineOf } from "@/lib/messages";

export type Health = {
  status: "ok" | "degraded";
  db: "ok" | "down";
  qemuNbd: string;
  problems: string[];
};

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function runQemuNbdVersion(): Promise<string> {
  const result = await runChild("qemu-nbd", ["--version"], { timeout: 5000 });
  const match = /qemu-nbd\s+(\S+)/.exec(result.stdout);
  return match ? match[1] : result.stdout.split("\n")[0];
}

/** A found version is kept this long (an upgrade of qemu-utils shows up after it)… */
const VERSION_TTL_MS = 10 * 60_000;
/** …a failure only this long, so installing qemu-utils is noticed soon. */
const FAILURE_TTL_MS = 15_000;

type CachedVersion = { promise: Promise<string>; expiresAt: number };
const KEY = Symbol.for("nbdhub.qemuNbdVersion");

/**
 * `qemu-nbd --version`, run at most once per TTL per server process; callers that arrive
 * while it runs share that one run. Kept on globalThis: Next loads this module once for the
 * runtime and again for the health route.
 */
function qemuNbdVersion(): Promise<string> {
  const g = globalThis as typeof globalThis & { [KEY]?: CachedVersion };
  const cached = g[KEY];
  if (cached && cached.expiresAt > Date.now()) return cached.promise;
  const promise = runQemuNbdVersion();
  const entry: CachedVersion = { promise, expiresAt: Number.POSITIVE_INFINITY };
  g[KEY] = entry;
  promise.then(
    () => (entry.expiresAt = Date.now() + VERSION_TTL_MS),
    () => (entry.expiresAt = Date.now() + FAILURE_TTL_MS),
  );
  return promise;
}

export async function checkHealth(db: Db | undefined): Promise<Health> {
  const problems: string[] = [];
  const [dbState, qemu] = await Promise.all([
    db
      ? withTimeout(db.$queryRaw`SELECT 1`, 3000, "the database").then(
          () => "ok" as const,
          (error: unknown) => {
            problems.push(`database: ${firstLineOf(error)}`);
            return "down" as const;
          },
        )
      : Promise.resolve("down" as const),
    qemuNbdVersion().catch(() => {
      problems.push("qemu-nbd: not installed or not runnable (apt-get install qemu-utils)");
      return "missing";
    }),
  ]);
  if (!db) problems.push("database: not connected yet");
  return { status: dbState === "ok" && qemu !== "missing" ? "ok" : "degraded", db: dbState, qemuNbd: qemu, problems };
}
