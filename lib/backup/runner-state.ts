// What the backup runner's parts share: this process's cache of the jobs it runs (`active`)
// and of the endings under way (`endings`), and whether the server is stopping. Postgres
// holds the truth; this is a cache of it (docs/decisions/006-one-ending-path.md).
import "server-only";
import type { Config } from "@/lib/config/env";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import type { ExportManagerApi, ExportTlsKey, PortPoolApi } from "@/lib/nbd/types";
import type { EndingKind } from "./claim";
import type { RunningDisk } from "./disk-task";
import { JobEvents } from "./events";
import type { FinishDeps } from "./finish";
import { LeftoverTargets } from "./leftovers";

export type RunnerDeps = { db: Db; config: Config; log: Logger; ports: PortPoolApi; exports: ExportManagerApi };

export type Active = {
  id: string;
  external: boolean;
  /** Aborted once the job's ending is claimed: its disk tasks stop. */
  abort: AbortController;
  /** Ports reserved for the job at admission: one per disk worker (external: one per disk). */
  ports: number[];
  disks: Map<string, RunningDisk>;
  /** Built-in jobs: a failed disk copy is tried again this many times (disk-retry.ts). */
  retries: number;
  /** Settles once the disk tasks (built-in) or the preparation of the exports (external) settled. */
  tasks: Promise<void>;
  /** External jobs: every export is ready for the backup client. */
  ready: boolean;
  /** Settles when this process is done with the job (it ended, or another claimer ends it). */
  done: Promise<void>;
  settleDone: () => void;
};

/** "withdrawn": the claim could not be written (the database is away); nothing was done. */
export type EndingResult = "ended" | "lost" | "withdrawn";

/** A job's one ending in this process; the first claimer's, every later one is refused. */
export type Ending = { kind: EndingKind; claimed: Promise<boolean>; result: Promise<EndingResult> };

export const ACTIVE_STATUSES = ["queued", "running"];
export const DISKS_IN_ORDER = { disks: { orderBy: { position: "asc" } } } as const;

export class RunnerState {
  readonly events: JobEvents;
  readonly active = new Map<string, Active>();
  readonly endings = new Map<string, Ending>();
  /**
   * External jobs under NBDHUB_NBD_TLS=required: each disk's export key, by job and disk, made
   * when the job is created (its answer hands them out) and used when the exports start; dropped
   * when the job leaves this process.
   */
  readonly tlsKeys = new Map<string, Map<string, ExportTlsKey>>();
  /** Targets of ended jobs that could not be removed yet (a read-only repository). */
  readonly leftovers: LeftoverTargets;
  stopping = false;

  constructor(readonly deps: RunnerDeps) {
    this.events = new JobEvents(deps.db, deps.log.child("backup"));
    this.leftovers = new LeftoverTargets(deps);
  }

  /** What a disk task needs. */
  get taskDeps() {
    return { ...this.deps, events: this.events };
  }

  /** What finishJob needs; a target it cannot remove now is retried later. */
  get finishDeps(): FinishDeps {
    return { ...this.deps, events: this.events, onLeftover: (file: string) => this.leftovers.add(file) };
  }

  get poolSize(): number {
    const { min, max } = this.deps.config.portRange;
    return max - min + 1;
  }
}
