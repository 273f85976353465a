// A fixed number of workers pulling items from one stream, as the copy helpers need it: the
// first failure (or the caller's abort) stops every worker and the item stream, requests in
// flight are cancelled through one signal, and a final step (a flush) runs only on success.
import { setMaxListeners } from "node:events";
import { abortReason } from "./errors";

export type WorkerPoolOptions<T> = {
  /** Workers running at once; each handles one item at a time. */
  count: number;
  /** The caller's abort: stops the workers and rejects with its reason. */
  signal?: AbortSignal;
  /** The work, produced lazily; it should stop when `stop` aborts. */
  items: (stop: AbortSignal) => AsyncGenerator<T>;
  /** Makes one worker's handler; per-worker state (buffers) lives in its closure. */
  worker: (stop: AbortSignal) => (item: T) => Promise<void>;
  /** Runs after every item was handled, only when nothing failed. */
  finish?: (stop: AbortSignal) => Promise<void>;
};

export async function runWorkers<T>(options: WorkerPoolOptions<T>): Promise<void> {
  if (options.signal?.aborted) throw abortReason(options.signal);
  // One controller stops every worker on the first failure or on the caller's abort.
  const stop = new AbortController();
  // Every request in flight listens on it: more than Node's default of 10 is the normal case.
  setMaxListeners(0, stop.signal);
  const onCallerAbort = () => stop.abort(abortReason(options.signal as AbortSignal));
  options.signal?.addEventListener("abort", onCallerAbort, { once: true });
  const items = options.items(stop.signal);
  let firstError: unknown;

  const work = async () => {
    const handle = options.worker(stop.signal);
    for (;;) {
      if (stop.signal.aborted) return;
      const next = await items.next();
      if (next.done) return;
      await handle(next.value);
    }
  };
  const workers = Array.from({ length: Math.max(1, options.count) }, () =>
    work().catch((error: unknown) => {
      if (firstError === undefined) firstError = stop.signal.aborted ? stop.signal.reason : error;
      if (!stop.signal.aborted) stop.abort(error);
    }),
  );
  try {
    await Promise.all(workers);
    if (firstError !== undefined) throw firstError;
    if (stop.signal.aborted) throw stop.signal.reason;
    await options.finish?.(stop.signal);
  } finally {
    options.signal?.removeEventListener("abort", onCallerAbort);
    await items.return(undefined);
  }
}
