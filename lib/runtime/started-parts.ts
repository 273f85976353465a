// What the runtime has started, in order, each with how to stop it. Stopping runs last-started
// first and runs every step even when one throws: a step that fails must not leave the steps
// below it (the exports, the database connection, the embedded Postgres) running. A start that
// fails part-way stops the same way what it had started.
import type { Logger } from "@/lib/log";
import { messageOf } from "@/lib/messages";

type Part = { name: string; stop: () => Promise<unknown> | void };

export class StartedParts {
  private readonly parts: Part[] = [];

  add(name: string, stop: Part["stop"]): void {
    this.parts.push({ name, stop });
  }

  /** Stop every part, newest first. Each failure is logged; together they are thrown at the end. */
  async stopAll(log: Logger): Promise<void> {
    const failed: string[] = [];
    for (const part of this.parts.splice(0).reverse()) {
      try {
        await part.stop();
      } catch (error) {
        failed.push(`${part.name}: ${messageOf(error)}`);
        log.error(`could not stop the ${part.name}; stopping the rest`, { error: messageOf(error) });
      }
    }
    if (failed.length > 0) throw new Error(`stopped, but not cleanly: ${failed.join("; ")}`);
  }
}
