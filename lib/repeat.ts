// A background pass run on a fixed interval, one at a time: a tick that finds the last pass
// still running is skipped, and stop() ends the timer and waits for a pass in flight. The pass
// is told whether stop() was called, so a long one can end early.
export type Repeating = { stop(): Promise<void> };

export function repeatEvery(ms: number, pass: (stopped: () => boolean) => Promise<void>): Repeating {
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  const isStopped = () => stopped;
  const timer = setInterval(() => {
    if (inFlight || stopped) return;
    inFlight = pass(isStopped).finally(() => (inFlight = undefined));
  }, ms);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
