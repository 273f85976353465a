// The job's event log (job_events rows, the timeline the console shows) and the in-process
// bus that pushes "something changed" to the server-sent event streams.
import "server-only";
import { EventEmitter } from "node:events";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { eventView, type JobEventView } from "./serialize";

export type JobSignal = { type: "changed" } | { type: "log"; event: JobEventView } | { type: "end" };

export class JobEvents {
  readonly bus = new EventEmitter();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {
    // One listener per open event stream; a busy console can have many.
    this.bus.setMaxListeners(0);
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

  async record(jobId: string, kind: string, message: string, { diskId = null, level = "info" }: { diskId?: string | null; level?: "info" | "warn" | "error" } = {}): Promise<void> {
    this.log[level === "error" ? "error" : level === "warn" ? "warn" : "info"](message, { job: jobId, disk: diskId ?? undefined, kind });
    try {
      const row = await this.db.jobEvent.create({ data: { jobId, diskId, kind, message, level } });
      this.bus.emit(this.channel(jobId), { type: "log", event: eventView(row) } satisfies JobSignal);
    } catch (error) {
      this.log.warn("could not record a job event", { job: jobId, error: error instanceof Error ? error.message : String(error) });
    }
  }
}
