// Ctrl-C and SIGTERM: the first one aborts the work (the command then cancels its job or
// restore on the hub and exits 130); a second one exits at once, killing our own qemu-nbd.
import { EXIT } from "./exit-codes";
import { killLocalExports } from "./local-export";

export class Interrupted extends Error {
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}`);
    this.name = "Interrupted";
  }
}

export type Interruption = { signal: AbortSignal; dispose(): void };

export function onInterrupt(say: (text: string) => void): Interruption {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      killLocalExports();
      process.exit(EXIT.cancelled);
    }
    say(`\n${name}: cancelling on the hub… (press Ctrl-C again to exit at once)`);
    controller.abort(new Interrupted(name));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  process.on("exit", killLocalExports);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}
