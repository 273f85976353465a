// argon2 costs 19 MiB and tens of milliseconds of a core per password, and sign-in is open to
// anyone: without a cap, a burst of anonymous sign-ins takes every core and the memory with
// them. At most `concurrency` hashes run at once and at most `queue` more wait for a turn;
// beyond that the request is answered at once with 429 and Retry-After instead of piling up.
// One gate per server process (on globalThis: Next bundles each route separately).
import "server-only";
import { tooMany } from "@/lib/errors";
import { authContext } from "./context";

function gateFull(retryAfterSeconds: number) {
  return tooMany("too_busy", `the server is checking too many passwords at once; try again in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
  });
}

export type GateLimits = { concurrency: number; queue: number };

class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limits: () => GateLimits) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const { concurrency, queue } = this.limits();
    if (this.running >= concurrency) {
      if (this.waiting.length >= queue) throw gateFull(1);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next in line, so `running` never over-counts.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

const KEY = Symbol.for("nbdhub.passwordGate");
const FALLBACK: GateLimits = { concurrency: 2, queue: 32 };

function gate(): Gate {
  const g = globalThis as typeof globalThis & { [KEY]?: Gate };
  g[KEY] ??= new Gate(() => authContext()?.passwordHash ?? FALLBACK);
  return g[KEY];
}

/** Run one argon2 hash or verification under the process-wide cap (429 too_busy when full). */
export function withPasswordGate<T>(fn: () => Promise<T>): Promise<T> {
  return gate().run(fn);
}
