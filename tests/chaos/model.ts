// The campaign's own record of what it asked for and what it did, compared against what the
// server says and what the host shows.
export const FAULT_KINDS = [
  "kill-qemu-nbd",
  "kill-mover",
  "cancel",
  "server-restart",
  "postgres-restart",
  "foreign-listener",
  "repository-full",
  "repository-readonly",
  "stop-qemu-nbd",
  "stop-mover",
  "source-errors",
  "slow-source",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Faults aimed at one job's copy: they wait for its progress and count whether they landed. */
export const COPY_FAULTS: readonly FaultKind[] = [
  "kill-qemu-nbd",
  "kill-mover",
  "stop-qemu-nbd",
  "stop-mover",
  "source-errors",
  "slow-source",
];

export const FINAL = ["completed", "failed", "cancelled"] as const;
export const isFinal = (status: string | undefined) => !!status && (FINAL as readonly string[]).includes(status);

export type SourceKind = "raw" | "qcow2" | "nbd";

export type VmDisk = {
  diskId: string;
  kind: SourceKind;
  /** What POST /backups gets: a file name under the sources root, or the slow nbd:// URI. */
  source: string;
  /** What the backup is compared against: the file, or an unthrottled twin of the NBD source. */
  verifyPath: string;
  verifyFormat: "raw" | "qcow2";
  sizeMiB: number;
  /** Bumped every time the campaign changes the source (before an incremental). */
  version: number;
};

export type Vm = { name: string; disks: VmDisk[] };

export type JobRecord = {
  index: number;
  round: number;
  vm: Vm;
  type: "full" | "incremental";
  submittedAt: number;
  answeredAt?: number;
  submitStatus?: number;
  submitError?: string;
  id?: string;
  /** Source versions at submission, by disk id: a completed backup must equal that version. */
  versions: Record<string, number>;
  /** A kill -9 that reached a live process of this job (export or mover). */
  killed: string[];
  /** SIGSTOPs of a process of this job: how long it stayed stopped (null: never continued). */
  stops?: { what: string; stoppedMs: number | null }[];
  /** Further attempts per disk asked for (POST /backups `retries`). */
  retries: number;
  /** Source errors switched on while this job copied from that source (read errors, EIO). */
  sourceErrors?: { source: string; from: number; to: number }[];
  /** A source of this job slowed down (its rate lowered) while it copied. */
  slowed?: { source: string; rate: string; from: number; to: number }[];
  /** Cancel requests sent, with their answers (status 0 = no answer). */
  cancels: { sentAt: number; answeredAt?: number; status?: number; error?: string }[];
  status?: string;
  error?: string | null;
  faults: FaultKind[];
};

export type FaultRecord = {
  kind: FaultKind;
  round: number;
  job?: number;
  at: number;
  outcome: "injected" | "missed";
  /** A copy fault that struck while the job's disk was still copying. */
  landed?: boolean;
  note: string;
};

export type InvariantId = 1 | 2 | 3 | 4 | 5 | 6;

export class Breach extends Error {
  constructor(
    readonly invariant: InvariantId,
    message: string,
  ) {
    super(`invariant ${invariant} breached: ${message}`);
    this.name = "Breach";
  }
}

export type CampaignSummary = {
  seed: number;
  mode: "quick" | "default" | "long";
  jobsPlanned: number;
  jobsSubmitted: number;
  jobsCreated: number;
  jobsByStatus: Record<string, number>;
  rounds: number;
  /** Per kind; `landed` counts copy faults that struck a disk still copying. */
  faults: Record<string, { injected: number; missed: number; landed: number }>;
  skippedKinds: { kind: FaultKind; reason: string }[];
  checks: Record<string, number>;
  checksTotal: number;
  breaches: string[];
  notes: string[];
  durationSeconds: number;
  state?: string;
};
