// A counting semaphore with a bounded, time-limited waiting line. Inspections of sources
// (qemu-img info, nbdinfo) go through one of these so that no burst of requests can start
// more of them at once than the machine can bear: beyond the waiting line, or after waiting
// too long, a task is refused with a BusyError instead of piling up. Pure: no I/O.

export type LimiterOptions = {
  /** Tasks that may run at once. */
  concurrency: number;
  /** Tasks that may wait for a slot; one more is refused at once. */
  maxQueue: number;
  /** How long a task may wait for a slot before it is refused. */
  maxWaitMs: number;
};

export type LimiterStats = {
  limit: number;
  running: number;
  queued: number;
  /** The most tasks that ever ran at once. */
  peak: number;
  /** Tasks started (each one a process for the inspections). */
  runs: number;
  /** Tasks refused: waiting line full, or waited too long. */
  rejected: number;
};

const BUSY = Symbol.for("nbdhub.BusyError");

/**
 * A limiter held on globalThis is shared by Next.js's separate module graphs, so the error it
 * throws may be another copy of this class: recognise it by a global brand (isBusyError).
 */
export function isBusyError(error: unknown): error is BusyError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[BUSY] === true;
}

export class BusyError extends Error {
  readonly [BUSY] = true;

  constructor(public readonly reason: "queue_full" | "wait_timeout") {
    super(reason === "queue_full" ? "too many tasks are waiting" : "waited too long for a free slot");
    this.name = "BusyError";
  }
}

type Waiter = { start: () => void; timer: ReturnType<typeof setTimeout> | undefined };

export class Limiter {
  private running = 0;
  private peak = 0;
  private runs = 0;
  private rejected = 0;
  private readonly queue: Waiter[] = [];

  constructor(private readonly options: LimiterOptions) {}

  stats(): LimiterStats {
    const { running, peak, runs, rejected } = this;
    return { limit: this.options.concurrency, running, queued: this.queue.length, peak, runs, rejected };
  }

  /**
   * Run `task` once a slot is free; rejects with BusyError when it may not wait. A `patient`
   * task (work the server itself has committed to, such as a running job's) waits as long as
   * it takes and is never refused: it still counts against the limit.
   */
  async run<T>(task: () => Promise<T>, { patient = false }: { patient?: boolean } = {}): Promise<T> {
    await this.acquire(patient);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(patient: boolean): Promise<void> {
    if (this.running < this.options.concurrency && this.queue.length === 0) {
      this.take();
      return Promise.resolve();
    }
    if (!patient && this.queue.length >= this.options.maxQueue) {
      this.rejected += 1;
      return Promise.reject(new BusyError("queue_full"));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          this.take();
          resolve();
        },
        timer: patient
          ? undefined
          : setTimeout(() => {
              const at = this.queue.indexOf(waiter);
              if (at >= 0) this.queue.splice(at, 1);
              this.rejected += 1;
              reject(new BusyError("wait_timeout"));
            }, this.options.maxWaitMs),
      };
      this.queue.push(waiter);
    });
  }

  private take(): void {
    this.running += 1;
    this.runs += 1;
    this.peak = Math.max(this.peak, this.running);
  }

  private release(): void {
    this.running -= 1;
    const next = this.queue.shift();
    if (next) next.start();
  }
}

/** Map `items` through `fn`, at most `width` at a time, keeping their order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    // After a failure the answer is that failure: take no more items.
    while (next < items.length && !failed) {
      const index = next;
      next += 1;
      try {
        results[index] = await fn(items[index], index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}
