// Rows written later while the database is down: the job event log (lib/backup/events.ts) and
// the audit trail (lib/auth/audit-trail.ts) keep what an outage refused, in order, bounded (the
// oldest go first), and write it, each with its own time, when the database is back. When to
// try again is the owner's business (the audit trail's timer also writes grown counts).
import "server-only";
import { isDatabaseUnavailable } from "./unavailable";

export type WriteLaterOptions<T> = {
  write: (item: T) => Promise<unknown>;
  /** Items kept at most; beyond, the oldest is dropped. */
  max: number;
  /** An item dropped to keep `max`. */
  onDropped: (item: T) => void;
  /** A write that failed for another reason than an outage: the item is not tried again. */
  onFailed: (item: T, error: unknown) => void;
};

/**
 * What `submit` did with an item: written; kept behind items already waiting ("queued"); kept
 * because the database refused it as unreachable ("unavailable"); lost to another error ("failed").
 */
export type Submitted = "written" | "queued" | "unavailable" | "failed";

export class WriteLater<T> {
  private readonly items: T[] = [];

  constructor(private readonly options: WriteLaterOptions<T>) {}

  /** Items waiting for the database. */
  get size(): number {
    return this.items.length;
  }

  /**
   * Write the item now, or keep it: behind the items already waiting (rows keep their order),
   * or when the database is unreachable.
   */
  async submit(item: T): Promise<Submitted> {
    if (this.items.length > 0) {
      this.keep(item);
      return "queued";
    }
    try {
      await this.options.write(item);
      return "written";
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        this.keep(item);
        return "unavailable";
      }
      this.options.onFailed(item, error);
      return "failed";
    }
  }

  /** Keep an item behind the others (the oldest goes beyond `max`). */
  keep(item: T): void {
    if (this.items.length >= this.options.max) this.options.onDropped(this.items.shift()!);
    this.items.push(item);
  }

  /**
   * Write the waiting items, oldest first, until none is left or the database is away again
   * (`unavailable`: the rest waits). How many were written is for the owner's log line.
   */
  async drain(): Promise<{ written: number; unavailable: boolean }> {
    let written = 0;
    while (this.items.length > 0) {
      try {
        await this.options.write(this.items[0]);
        written += 1;
      } catch (error) {
        if (isDatabaseUnavailable(error)) return { written, unavailable: true };
        this.options.onFailed(this.items[0], error);
      }
      this.items.shift();
    }
    return { written, unavailable: false };
  }
}
