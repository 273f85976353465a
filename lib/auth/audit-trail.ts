// The runtime's writer of audit rows (one per runtime, so every route shares it). Rows of
// requests answered at the same moment are written in one INSERT (lib/db/group-write.ts); each
// request still waits for its own row. Two jobs beyond writing a row:
// - Refusals of anonymous callers (any 4xx: no or a bad credential, bad input to an open
//   route) are aggregated: one row per (client address, action, status, code) per minute,
//   whose `details.count` grows, and at most a few such rows per address and per minute in
//   all. A flood of anonymous requests cannot grow the table without bound, and people still
//   see who tried what how often. Signed-in callers keep one row per request.
// - Rows the database cannot take because it is unreachable are kept in memory (bounded,
//   oldest dropped with a log line) and written, with their own time, when it is back.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { isDatabaseUnavailable } from "@/lib/db/unavailable";
import { GroupWrite } from "@/lib/db/group-write";
import { WriteLater } from "@/lib/db/write-later";
import { prismaCode } from "@/lib/db/prisma-code";
import type { Logger } from "@/lib/log";
import { auditRowData, writeAuditRow, type AuditEntry } from "./audit";
import { firstLineOf } from "@/lib/messages";

export type AuditTrailLimits = {
  /** Length of one aggregation window. */
  windowMs: number;
  /** Distinct (action, status, code) rows per address per window; more fold into one row. */
  keysPerAddress: number;
  /** Aggregated rows per window for all addresses together; more fold into one row. */
  rowsPerWindow: number;
  /** Aggregated rows held in memory at all (an outage keeps unwritten ones); more fold into one row. */
  maxBuckets: number;
  /** Rows kept while the database is unreachable; beyond, the oldest are dropped (logged). */
  maxPending: number;
  /** Delay before a grown count is written, and between retries while the database is away. */
  flushDelayMs: number;
  retryMs: number;
};

const DEFAULT_AUDIT_LIMITS: AuditTrailLimits = {
  windowMs: 60_000,
  keysPerAddress: 10,
  rowsPerWindow: 200,
  maxBuckets: 2000,
  maxPending: 1000,
  flushDelayMs: 1000,
  retryMs: 2000,
};

/** The action of a row that stands for refusals beyond the per-address or per-minute bound. */
const OVERFLOW_ACTION = "audit.refusals";

type Bucket = {
  window: number;
  address: string;
  /** The first refusal of the bucket (its time is the row's time). */
  entry: AuditEntry & { at: Date };
  count: number;
  lastAt: Date;
  rowId?: bigint;
  /** The count the row in the database says. */
  stored: number;
  writing?: Promise<void>;
  overflow?: "address" | "all";
};

export class AuditTrail {
  private readonly limits: AuditTrailLimits;
  private readonly buckets = new Map<string, Bucket>();
  /** Buckets per window and per window+address, for the bounds. */
  private readonly perWindow = new Map<number, number>();
  private readonly perAddress = new Map<string, number>();
  /** Rows an outage refused, written when the database is back. */
  private readonly pending: WriteLater<AuditEntry & { at: Date }>;
  /** Rows of requests answered at the same moment go in one INSERT (lib/db/group-write.ts). */
  private readonly rows: GroupWrite<AuditEntry & { at: Date }>;
  private dropped = 0;
  private outage = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    limits: Partial<AuditTrailLimits> = {},
  ) {
    this.limits = { ...DEFAULT_AUDIT_LIMITS, ...limits };
    this.rows = new GroupWrite((entries) => this.db.auditEvent.createMany({ data: entries.map(auditRowData) }));
    this.pending = new WriteLater({
      write: (entry) => this.rows.submit(entry),
      max: this.limits.maxPending,
      onDropped: () => {
        if (this.dropped === 0) {
          this.log.warn(`more than ${this.limits.maxPending} audit rows wait for the database: the oldest are dropped`);
        }
        this.dropped += 1;
      },
      onFailed: (entry, error) =>
        this.log.error("could not write an audit event", { action: entry.action, error: firstLineOf(error) }),
    });
  }

  /** One row for this request; kept for later when the database is unreachable. Never throws. */
  async record(entry: AuditEntry): Promise<void> {
    const timed = { ...entry, at: entry.at ?? new Date() };
    const done = await this.pending.submit(timed);
    if (done === "written") this.back();
    if (done === "unavailable") this.down();
    // Rows wait in order behind the ones already kept; the retry writes them all.
    if (done === "queued" || done === "unavailable") this.schedule(this.limits.retryMs);
  }

  /** A refusal of an anonymous caller: counted into its minute's row. Never throws. */
  async refusal(entry: AuditEntry): Promise<void> {
    const at = entry.at ?? new Date();
    const bucket = this.bucketFor({ ...entry, at });
    bucket.count += 1;
    bucket.lastAt = at;
    // The first refusal of a bucket is written now (a reader sees it at once); later ones
    // only grow the count, written a moment later in one update.
    if (bucket.rowId === undefined && !bucket.writing && bucket.stored === 0 && bucket.count === 1)
      await this.write(bucket);
    else this.schedule(this.limits.flushDelayMs);
  }

  /** Write what is waiting: rows kept during an outage, grown counts. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stop the timers and write what can still be written (the database is still open). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.flushing;
    await this.flushOnce();
    const left = this.pending.size + [...this.buckets.values()].filter((b) => b.count > b.stored).length;
    if (left > 0) this.log.warn(`${left} audit rows could not be written before the stop and are lost`);
  }

  private bucketFor(entry: AuditEntry & { at: Date }): Bucket {
    const window = Math.floor(entry.at.getTime() / this.limits.windowMs);
    const address = entry.clientIp ?? "-";
    const code = typeof entry.details?.code === "string" ? entry.details.code : "";
    const exact = `${window}|${address}|${entry.action}|${entry.status ?? ""}|${code}`;
    const found = this.buckets.get(exact);
    if (found) return found;
    const addressKey = `${window}|${address}`;
    const full =
      (this.perWindow.get(window) ?? 0) >= this.limits.rowsPerWindow || this.buckets.size >= this.limits.maxBuckets;
    if (full) return this.overflowBucket(`${window}|*`, window, "-", entry, "all");
    if ((this.perAddress.get(addressKey) ?? 0) >= this.limits.keysPerAddress) {
      return this.overflowBucket(`${addressKey}|*`, window, address, entry, "address");
    }
    return this.add(exact, { window, address, entry, count: 0, lastAt: entry.at, stored: 0 });
  }

  private overflowBucket(
    key: string,
    window: number,
    address: string,
    entry: AuditEntry & { at: Date },
    kind: "address" | "all",
  ): Bucket {
    const found = this.buckets.get(key);
    if (found) return found;
    const overflowEntry: AuditEntry & { at: Date } = {
      actor: "anonymous",
      action: OVERFLOW_ACTION,
      result: "denied",
      clientIp: kind === "address" ? entry.clientIp : undefined,
      at: entry.at,
      details: {
        why:
          kind === "address"
            ? `more kinds of refused anonymous requests from this address in one minute than are recorded one by one`
            : `more refused anonymous requests in one minute than are recorded one by one`,
        firstAction: entry.action,
      },
    };
    return this.add(key, {
      window,
      address,
      entry: overflowEntry,
      count: 0,
      lastAt: entry.at,
      stored: 0,
      overflow: kind,
    });
  }

  private add(key: string, bucket: Bucket): Bucket {
    this.buckets.set(key, bucket);
    this.perWindow.set(bucket.window, (this.perWindow.get(bucket.window) ?? 0) + 1);
    const addressKey = `${bucket.window}|${bucket.address}`;
    this.perAddress.set(addressKey, (this.perAddress.get(addressKey) ?? 0) + 1);
    return bucket;
  }

  private rowOf(bucket: Bucket): AuditEntry {
    const { entry } = bucket;
    return {
      ...entry,
      details: {
        ...(entry.details ?? {}),
        count: bucket.count,
        lastAt: bucket.lastAt.toISOString(),
        aggregated: "per address, action and status, per minute",
      },
    };
  }

  /** Create or update the bucket's row; one write at a time per bucket. */
  private write(bucket: Bucket): Promise<void> {
    bucket.writing ??= (async () => {
      const count = bucket.count;
      try {
        if (bucket.rowId === undefined) bucket.rowId = await writeAuditRow(this.db, this.rowOf(bucket));
        else
          await this.db.auditEvent.update({
            where: { id: bucket.rowId },
            data: { details: auditRowData(this.rowOf(bucket)).details },
          });
        bucket.stored = count;
        this.back();
      } catch (error) {
        if (isDatabaseUnavailable(error)) {
          this.down();
        } else if (prismaCode(error) === "P2025") {
          bucket.rowId = undefined; // the row was purged meanwhile: write a new one
        } else {
          bucket.stored = count; // not retried: the next refusal writes the count again
          this.log.error("could not write an audit event", { action: bucket.entry.action, error: firstLineOf(error) });
        }
      }
    })().finally(() => {
      bucket.writing = undefined;
      if (bucket.count > bucket.stored) this.schedule(this.outage ? this.limits.retryMs : this.limits.flushDelayMs);
    });
    return bucket.writing;
  }

  private down(): void {
    if (this.outage) return;
    this.outage = true;
    this.log.warn(
      `the database is unreachable: audit rows are kept in memory (up to ${this.limits.maxPending}) and written when it is back`,
    );
  }

  private back(): void {
    if (!this.outage) return;
    this.outage = false;
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
    this.timer.unref?.();
  }

  private async flushOnce(): Promise<void> {
    await this.writePending();
    // One write at a time: the audit trail must not take the pool's few connections.
    for (const bucket of [...this.buckets.values()]) {
      if (bucket.count > bucket.stored && !bucket.writing) await this.write(bucket);
      if (this.outage) break;
    }
    this.evict();
    if (this.pending.size > 0 && !this.stopped) this.schedule(this.limits.retryMs);
  }

  private async writePending(): Promise<void> {
    const { written, unavailable } = await this.pending.drain();
    if (written > 0) this.outage = false;
    if (unavailable) this.down();
    if (written > 0 || (this.pending.size === 0 && this.dropped > 0)) {
      const lost = this.dropped
        ? `; ${this.dropped} older ones were dropped (more than ${this.limits.maxPending} waited)`
        : "";
      this.log.info(`the database is back: wrote ${written} audit rows kept while it was unreachable${lost}`);
      this.dropped = 0;
    }
  }

  /** Forget buckets of past windows whose count is written. */
  private evict(): void {
    const current = Math.floor(Date.now() / this.limits.windowMs);
    for (const [key, bucket] of this.buckets) {
      if (bucket.window >= current || bucket.writing || bucket.count > bucket.stored) continue;
      this.buckets.delete(key);
      const left = (this.perWindow.get(bucket.window) ?? 1) - 1;
      if (left > 0) this.perWindow.set(bucket.window, left);
      else this.perWindow.delete(bucket.window);
      const addressKey = `${bucket.window}|${bucket.address}`;
      const perAddress = (this.perAddress.get(addressKey) ?? 1) - 1;
      if (perAddress > 0) this.perAddress.set(addressKey, perAddress);
      else this.perAddress.delete(addressKey);
    }
  }
}
