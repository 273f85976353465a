// Open event streams per caller (a user or an API token), capped: each stream holds a
// connection and a subscription for as long as its job runs, so one caller must not be able to
// open them without end. Per server process, like the streams themselves.
import "server-only";

export class StreamSlots {
  private readonly open = new Map<string, number>();

  /** Take a slot for `caller`; undefined when it already holds `limit`. The release is idempotent. */
  take(caller: string, limit: number): (() => void) | undefined {
    const held = this.open.get(caller) ?? 0;
    if (held >= limit) return undefined;
    this.open.set(caller, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(caller) ?? 1) - 1;
      if (left > 0) this.open.set(caller, left);
      else this.open.delete(caller);
    };
  }

  total(): number {
    let sum = 0;
    for (const n of this.open.values()) sum += n;
    return sum;
  }
}
