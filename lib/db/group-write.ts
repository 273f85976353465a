// Rows that many requests write at the same moment, written together: while one INSERT is on
// its way, the rows that arrive meanwhile wait and go in the next one, so a burst costs one
// round trip and one commit per batch instead of one per row (the audit trail: every API
// request that changes something writes a row). A row arriving when nothing is in flight is
// written at once. Each caller learns its own row's fate: a batch refused for another reason
// than an outage is written again row by row, so one bad row does not take the others along.
import "server-only";
import { isDatabaseUnavailable } from "./unavailable";

type Waiting<T, R> = { item: T; resolve: (result: R) => void; reject: (error: unknown) => void };

/** When `writeMany` answers an array, its i-th element is what the i-th item's `submit` resolves to. */
export class GroupWrite<T, R = void> {
  private readonly waiting: Waiting<T, R>[] = [];
  private writing = false;

  constructor(
    private readonly writeMany: (items: T[]) => Promise<unknown>,
    private readonly maxBatch = 200,
  ) {}

  /** Resolves when the item's row is committed; rejects with what the database threw. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.writing) void this.writeAll();
    });
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) await this.writeBatch(this.waiting.splice(0, this.maxBatch));
    } finally {
      this.writing = false;
    }
  }

  private async writeBatch(batch: Waiting<T, R>[]): Promise<void> {
    try {
      const out = await this.writeMany(batch.map((w) => w.item));
      for (const [i, w] of batch.entries()) w.resolve(resultOf(out, i));
      return;
    } catch (error) {
      if (batch.length === 1 || isDatabaseUnavailable(error)) {
        for (const w of batch) w.reject(error);
        return;
      }
    }
    for (const w of batch) {
      try {
        w.resolve(resultOf(await this.writeMany([w.item]), 0));
      } catch (error) {
        w.reject(error);
      }
    }
  }
}

function resultOf<R>(out: unknown, i: number): R {
  return (Array.isArray(out) ? out[i] : undefined) as R;
}
