// One reader per watched job, however many event streams follow it: a change to the job (the
// runner's "changed"/"end" signals on the bus) is read from the database once, at most every
// 250 ms, and the result is handed to every subscriber. Log entries come with their signal and
// need no read at all. Before this, each open stream re-read the job on every change, so a few
// console tabs on a busy job held the 5-connection pool.
import "server-only";
import type { EventEmitter } from "node:events";
import type { Db } from "@/lib/db/prisma";
import type { JobSignal } from "./events";
import { jobView, type BackupJobView, type JobEventView } from "./serialize";

export type JobUpdate =
  | { type: "job"; job: BackupJobView }
  | { type: "log"; event: JobEventView }
  | { type: "end"; status: string }
  /** The job is gone, or it could not be read: subscribers close; their clients reconnect. */
  | { type: "closed" };

export type JobSubscriber = (update: JobUpdate) => void;

export const FINAL_JOB_STATUSES: ReadonlySet<string> = new Set(["completed", "failed", "cancelled"]);
const THROTTLE_MS = 250;

type Watch = {
  jobId: string;
  subscribers: Set<JobSubscriber>;
  listener: (signal: JobSignal) => void;
  timer?: NodeJS.Timeout;
  reading?: Promise<void>;
  /** A change arrived while a read was in flight: read once more after it. */
  again: boolean;
};

export type BroadcastStats = { jobs: number; subscribers: number; reads: number; pending: number };

export class JobBroadcaster {
  private readonly watches = new Map<string, Watch>();
  /** Database reads made to broadcast changes, since start. */
  private reads = 0;

  constructor(
    private readonly db: Db,
    private readonly bus: EventEmitter,
    private readonly channel: (jobId: string) => string,
  ) {}

  /** Follow a job; returns the unsubscribe function (safe to call more than once). */
  subscribe(jobId: string, subscriber: JobSubscriber): () => void {
    const watch = this.watches.get(jobId) ?? this.open(jobId);
    watch.subscribers.add(subscriber);
    return () => {
      watch.subscribers.delete(subscriber);
      if (watch.subscribers.size === 0) this.close(watch);
    };
  }

  /** Ask for a fresh read soon (a new subscriber catching up); shared with everyone's. */
  refresh(jobId: string): void {
    const watch = this.watches.get(jobId);
    if (watch) this.schedule(watch);
  }

  stats(): BroadcastStats {
    let subscribers = 0;
    let pending = 0;
    for (const w of this.watches.values()) {
      subscribers += w.subscribers.size;
      if (w.timer || w.reading || w.again) pending += 1;
    }
    return { jobs: this.watches.size, subscribers, reads: this.reads, pending };
  }

  private open(jobId: string): Watch {
    const watch: Watch = {
      jobId,
      subscribers: new Set(),
      again: false,
      listener: (signal) => {
        if (signal.type === "log") this.fanOut(watch, [{ type: "log", event: signal.event }]);
        else if (signal.type === "end") {
          clearTimeout(watch.timer);
          watch.timer = undefined;
          this.read(watch);
        } else this.schedule(watch);
      },
    };
    this.watches.set(jobId, watch);
    this.bus.on(this.channel(jobId), watch.listener);
    return watch;
  }

  private close(watch: Watch): void {
    clearTimeout(watch.timer);
    watch.timer = undefined;
    watch.again = false;
    this.bus.off(this.channel(watch.jobId), watch.listener);
    if (this.watches.get(watch.jobId) === watch) this.watches.delete(watch.jobId);
  }

  private schedule(watch: Watch): void {
    watch.timer ??= setTimeout(() => {
      watch.timer = undefined;
      this.read(watch);
    }, THROTTLE_MS);
  }

  private read(watch: Watch): void {
    if (watch.reading) {
      watch.again = true;
      return;
    }
    watch.reading = (async () => {
      this.reads += 1;
      let updates: JobUpdate[];
      try {
        const job = await this.db.backupJob.findUnique({ where: { id: watch.jobId }, include: { disks: true } });
        if (!job) updates = [{ type: "closed" }];
        else if (FINAL_JOB_STATUSES.has(job.status))
          updates = [
            { type: "job", job: jobView(job) },
            { type: "end", status: job.status },
          ];
        else updates = [{ type: "job", job: jobView(job) }];
      } catch {
        updates = [{ type: "closed" }];
      }
      this.fanOut(watch, updates);
      const last = updates[updates.length - 1];
      if (last.type !== "job") this.close(watch);
    })().finally(() => {
      watch.reading = undefined;
      if (watch.again && this.watches.get(watch.jobId) === watch) {
        watch.again = false;
        this.schedule(watch);
      }
    });
  }

  private fanOut(watch: Watch, updates: JobUpdate[]): void {
    for (const subscriber of [...watch.subscribers]) {
      for (const update of updates) {
        try {
          subscriber(update);
        } catch {
          // One subscriber's failure (a stream gone away) must not keep the others from theirs.
        }
      }
    }
  }
}
