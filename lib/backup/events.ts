// The job's event log (job_events rows, the timeline the console shows) and the in-process
// bus that pushes "something changed" to the server-sent event streams, through one
// broadcaster per runtime (job-broadcast.ts) and the per-caller stream cap (stream-slots.ts).
import "server-only";
import { EventEmitter } from "node:events";
import type { Db } from "@/lib/db/prisma";
import type { Prisma } from "@/lib/generated/prisma/client";
import { WriteLater } from "@/lib/db/write-later";
import type { Logger } from "@/lib/log";
import { JobBroadcaster, type BroadcastStats } from "./job-broadcast";
import { eventView, type JobEventView } from "./serialize";
import { StreamSlots } from "./stream-slots";
import { messageOf } from "@/lib/messages";

type EventOptions = { diskId?: string | null; level?: "info" | "warn" | "error" };
type PendingEvent = { jobId: string; diskId: string | null; kind: string; message: string; level: string; at: Date };

/** Events kept while the database is away (the oldest go first beyond this), and how often to retry. */
const MAX_PENDING = 10_000;
const RETRY_MS = 2000;

export type JobSignal = { type: "changed" } | { type: "log"; event: JobEventView } | { type: "end" };

export class JobEvents {
  readonly bus = new EventEmitter();
  /** Reads a watched job once per change and hands it to every stream following it. */
  readonly broadcast: JobBroadcaster;
  /** Event streams open per caller (the cap is NBDHUB_MAX_EVENT_STREAMS_PER_CALLER). */
  readonly streams = new StreamSlots();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {
    // One listener per watched job (not per stream), and the runner's own.
    this.bus.setMaxListeners(0);
    this.broadcast = new JobBroadcaster(db, this.bus, (jobId) => this.channel(jobId));
    this.pending = new WriteLater<PendingEvent>({
      write: (event) => this.write(event),
      max: MAX_PENDING,
      onDropped: (dropped) =>
        this.log.warn("job event dropped: too many waiting for the database", {
          job: dropped.jobId,
          kind: dropped.kind,
        }),
      onFailed: (event, error) =>
        this.log.warn("could not record a job event", { job: event.jobId, error: messageOf(error) }),
    });
  }

  /** For /metrics: open streams, watched jobs, and the reads made to follow them. */
  streamStats(): BroadcastStats & { open: number } {
    return { ...this.broadcast.stats(), open: this.streams.total() };
  }

  channel(jobId: string): string {
    return `job:${jobId}`;
  }

  changed(jobId: string): void {
    this.bus.emit(this.channel(jobId), { type: "changed" } satisfies JobSignal);
  }

  ended(jobId: string): void {
    this.bus.emit(this.channel(jobId), { type: "end" } satisfies JobSignal);
  }

  /**
   * Write an event to the job's log. While the database is away the event is kept, with the time
   * it happened, and written when it is back (an accepted cancel keeps its job.cancel_requested).
   */
  async record(jobId: string, kind: string, message: string, options: EventOptions = {}): Promise<void> {
    const { diskId = null, level = "info" } = options;
    this.log[level](message, { job: jobId, disk: diskId ?? undefined, kind });
    const event = { jobId, diskId, kind, message, level, at: new Date() };
    const done = await this.pending.submit(event);
    if (done === "queued" || done === "unavailable") this.scheduleRetry();
  }

  /** Write what waited for the database, once more (at shutdown, while the database still runs). */
  async flush(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    if ((await this.pending.drain()).unavailable) this.scheduleRetry();
  }

  /** Events waiting for the database (for tests and /metrics). */
  pendingCount(): number {
    return this.pending.size;
  }

  private readonly pending: WriteLater<PendingEvent>;
  private retry: NodeJS.Timeout | undefined;

  private async write(event: PendingEvent): Promise<void> {
    const row = await this.db.jobEvent.create({ data: event });
    this.bus.emit(this.channel(event.jobId), { type: "log", event: eventView(row) } satisfies JobSignal);
  }

  private scheduleRetry(): void {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.flush();
    }, RETRY_MS);
    this.retry.unref();
  }

  /**
   * Write an event inside the caller's transaction (the job's ending writes its status and its
   * `job.<status>` event together, so one is never without the other). Returns a function that
   * logs and publishes it, to call once the transaction has committed.
   */
  async recordIn(
    tx: Prisma.TransactionClient,
    jobId: string,
    kind: string,
    message: string,
    { diskId = null, level = "info" }: EventOptions = {},
  ): Promise<() => void> {
    const row = await tx.jobEvent.create({ data: { jobId, diskId, kind, message, level } });
    return () => {
      this.log[level](message, { job: jobId, disk: diskId ?? undefined, kind });
      this.bus.emit(this.channel(jobId), { type: "log", event: eventView(row) } satisfies JobSignal);
    };
  }
}
