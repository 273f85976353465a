// One place for "wait for this, but not longer than T, and not after the caller aborts".
// The work itself cannot be cancelled, so giving up also tears down what it holds (`onGiveUp`)
// and disposes of a result that arrives too late.
import { NbdTimeoutError, abortReason } from "./errors";

export type GuardOptions<T> = {
  timeoutMs?: number;
  signal?: AbortSignal;
  what: string;
  onGiveUp: (reason: unknown) => void;
  dispose?: (late: T) => void;
};

export function guard<T>(work: Promise<T>, opts: GuardOptions<T>): Promise<T> {
  const { timeoutMs, signal } = opts;
  if (!timeoutMs && !signal) return work;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const giveUp = (reason: unknown) => {
      if (done) return;
      done = true;
      cleanup();
      opts.onGiveUp(reason);
      work.then(
        (late) => opts.dispose?.(late),
        () => undefined,
      );
      reject(reason);
    };
    const expire = () => giveUp(new NbdTimeoutError(opts.what, timeoutMs as number));
    const timer = timeoutMs ? setTimeout(expire, timeoutMs) : undefined;
    const onAbort = () => giveUp(abortReason(signal as AbortSignal));
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    if (signal?.aborted) return giveUp(abortReason(signal));
    signal?.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        if (done) return;
        done = true;
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        if (done) return;
        done = true;
        cleanup();
        reject(error);
      },
    );
  });
}
