// The fault campaign's core (issue #8, docs/decisions/007-fault-campaign.md): backup jobs in
// rounds, faults at random moments, the invariants after every fault and every round. Used
// by `npm run chaos` (tests/chaos/run.ts) and, small, by tests/integration/chaos-quick.test.ts.
import { execa } from "execa";
import { randomBytes } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import { ChaosEnvironment } from "./environment";
import { Faults, type FaultPlan } from "./faults";
import { Checker } from "./invariants";
import {
  Breach,
  COPY_FAULTS,
  FAULT_KINDS,
  type CampaignSummary,
  type FaultKind,
  type FaultRecord,
  type JobRecord,
  type SourceKind,
  type Vm,
} from "./model";
import { Prng } from "./prng";

export type CampaignMode = "quick" | "default" | "long";

export type CampaignOptions = {
  seed: number;
  mode?: CampaignMode;
  /** Jobs to run (default: 16 quick, 50 default, 500 long). */
  jobs?: number;
  /** Only these fault kinds (default: all that can run here). */
  kinds?: readonly FaultKind[];
  log?: (line: string) => void;
  /** Stop after the current round (and clean up). */
  signal?: AbortSignal;
};

export type Preset = {
  jobs: number;
  ports: number;
  vms: number;
  maxJobsPerRound: number;
  fileSizesMiB: number[];
  nbdSizesMiB: number[];
  nbdRateBits: string;
  repoSizeMiB: number;
  maxServerRestarts: number;
  maxPostgresRestarts: number;
  faultDelayMaxMs: number;
};

const DEFAULT_PRESET: Preset = {
  jobs: 50,
  ports: 10,
  vms: 8,
  maxJobsPerRound: 4,
  fileSizesMiB: [8, 16, 24, 32],
  nbdSizesMiB: [16, 32],
  nbdRateBits: "32M",
  repoSizeMiB: 1024,
  maxServerRestarts: 8,
  maxPostgresRestarts: 8,
  faultDelayMaxMs: 5000,
};

export const PRESETS: Record<CampaignMode, Preset> = {
  quick: {
    jobs: 16,
    ports: 8,
    vms: 6,
    maxJobsPerRound: 3,
    fileSizesMiB: [8, 16],
    nbdSizesMiB: [8, 16],
    nbdRateBits: "64M",
    repoSizeMiB: 512,
    maxServerRestarts: 2,
    maxPostgresRestarts: 2,
    faultDelayMaxMs: 3000,
  },
  default: DEFAULT_PRESET,
  // The default campaign, ten times over: more ports, and as many restarts as it can take.
  long: { ...DEFAULT_PRESET, jobs: 500, ports: 12, maxServerRestarts: 60, maxPostgresRestarts: 60 },
};

const WEIGHTS: Record<FaultKind, number> = {
  "kill-qemu-nbd": 3,
  "kill-mover": 3,
  cancel: 3,
  "server-restart": 1,
  "postgres-restart": 1,
  "foreign-listener": 2,
  "repository-full": 1.5,
  "repository-readonly": 1.5,
  "stop-qemu-nbd": 2,
  "stop-mover": 2,
  "source-errors": 2,
  "slow-source": 1.5,
};

/** Faults that hit everything rather than one job. */
const GLOBAL = new Set<FaultKind>([
  "server-restart",
  "postgres-restart",
  "foreign-listener",
  "repository-full",
  "repository-readonly",
]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runCampaign(options: CampaignOptions): Promise<CampaignSummary> {
  const mode = options.mode ?? "default";
  const preset = { ...PRESETS[mode], ...(options.jobs ? { jobs: options.jobs } : {}) };
  const say = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const began = Date.now();
  const rng = new Prng(options.seed);
  const env = new ChaosEnvironment(say);
  const checker = new Checker(env, say);
  const faults = new Faults(env, say);
  const records: JobRecord[] = [];
  const faultLog: FaultRecord[] = [];
  const summary: CampaignSummary = {
    seed: options.seed,
    mode,
    jobsPlanned: preset.jobs,
    jobsSubmitted: 0,
    jobsCreated: 0,
    jobsByStatus: {},
    rounds: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, { injected: 0, missed: 0, landed: 0 }])),
    skippedKinds: [],
    checks: checker.checks,
    checksTotal: 0,
    breaches: [],
    notes: checker.notes,
    durationSeconds: 0,
  };

  // Which kinds can run here.
  let kinds = [...(options.kinds ?? FAULT_KINDS)];
  if (!env.isRoot) {
    for (const kind of ["repository-full", "repository-readonly"] as const) {
      if (kinds.includes(kind)) summary.skippedKinds.push({ kind, reason: "needs root to mount a tmpfs repository" });
    }
    kinds = kinds.filter((k) => k !== "repository-full" && k !== "repository-readonly");
  }
  for (const s of summary.skippedKinds) say(`[chaos] skipping fault kind ${s.kind}: ${s.reason}`);

  say(`[chaos] seed ${options.seed} (replay with --seed ${options.seed}), ${mode} mode, ${preset.jobs} jobs`);
  try {
    await env.setup({
      ports: preset.ports,
      repoSizeMiB: preset.repoSizeMiB,
      nbdSizesMiB: preset.nbdSizesMiB,
      nbdRateBits: preset.nbdRateBits,
    });
    const vms = await makeVms(env, rng.fork(1_000_000), preset);
    say(
      `[chaos] root ${env.root}, pool ${env.range.min}-${env.range.max}, ${vms.length} VMs: ${vms.map((v) => `${v.name}[${v.disks.map((d) => `${d.kind}:${d.sizeMiB}M`).join(",")}]`).join(" ")}`,
    );
    const t = Date.now();
    await env.startServer();
    say(`[chaos] server up in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    const caps = { restarts: 0, pgRestarts: 0 };
    let round = 0;
    while (records.length < preset.jobs) {
      if (options.signal?.aborted) {
        summary.notes.push(`interrupted after ${round} rounds`);
        break;
      }
      round += 1;
      summary.rounds = round;
      const roundPlan = planRound(rng, round, vms.length, preset.jobs - records.length, preset.maxJobsPerRound);
      const chosen = roundPlan.vms.map((i) => vms[i]);
      const roundStart = Date.now();
      const jobs: JobRecord[] = [];
      const plans: FaultPlan[] = [];
      for (const vm of chosen) {
        const index = records.length;
        // A VM of files only copies in well under a second, between two progress updates: a fault
        // aimed at its copy (a process or its source) would find nothing to strike: it cancels.
        const strikable = vm.disks.some((d) => d.kind === "nbd");
        const jobPlan = planJob(rng, index, kinds, caps, preset, strikable);
        const type = jobPlan.wantIncremental && (await canIncrement(env, vm)) ? "incremental" : "full";
        if (type === "incremental") await mutateSources(env, vm, rng.fork(4_000_000 + index));
        const job: JobRecord = {
          index,
          round,
          vm,
          type,
          submittedAt: 0,
          versions: Object.fromEntries(vm.disks.map((d) => [d.diskId, d.version])),
          killed: [],
          cancels: [],
          faults: [],
          // Its own stream: adding it left every seed's other plans as they were.
          retries: rng.fork(5_000_000 + index).chance(0.3) ? 1 : 0,
        };
        records.push(job);
        jobs.push(job);
        for (const f of jobPlan.faults) {
          job.faults.push(f.kind);
          plans.push({ kind: f.kind, delayMs: f.delayMs, job: GLOBAL.has(f.kind) ? undefined : job, rng: f.rng });
        }
      }
      say(
        `[chaos] round ${round}: ${jobs.map((j) => `#${j.index} ${j.type} ${j.vm.name} (${j.vm.disks.length} disk${j.vm.disks.length > 1 ? "s" : ""})`).join(", ")}; faults: ${plans.map((p) => `${p.kind}${p.job ? `→#${p.job.index}` : ""}@${p.delayMs}ms`).join(", ")}`,
      );

      let firstBreach: unknown = null;
      const submissions = jobs.map((job) => submit(env, job, rng.fork(3_000_000 + job.index).int(0, 400)));
      const strikes = plans.map(async (plan) => {
        const result = await faults.run(plan).catch((error: unknown) => ({
          outcome: "missed" as const,
          note: `the fault itself failed: ${error instanceof Error ? error.message : String(error)}`,
        }));
        const record: FaultRecord = {
          kind: plan.kind,
          round,
          job: plan.job?.index,
          at: Date.now() - roundStart,
          outcome: result.outcome,
          landed: "landed" in result ? result.landed : undefined,
          note: result.note,
        };
        faultLog.push(record);
        summary.faults[plan.kind][result.outcome] += 1;
        if (record.landed) summary.faults[plan.kind].landed += 1;
        say(
          `[chaos]   ${result.outcome === "injected" ? "fault" : "miss "} +${(record.at / 1000).toFixed(1)}s ${plan.kind}: ${result.note}`,
        );
        // Right after the fault: what must hold at every instant.
        if (result.outcome === "injected")
          await checker.checkPoolRunning().catch((error: unknown) => (firstBreach ??= error));
      });
      await Promise.all([...submissions, ...strikes]);
      if (firstBreach) throw firstBreach;
      summary.jobsSubmitted += jobs.length;

      // Settled: every invariant.
      await checker.settle(jobs, roundStart, faults.disruptions);
      await checker.checkPoolSettled();
      await checker.checkCompleted(jobs);
      await checker.checkFiles();
      await checker.checkStories(jobs, roundStart, faults.disruptions);
      await checker.checkSourceFaults(
        jobs,
        plans.some((p) => GLOBAL.has(p.kind)),
      );
      checker.checkAnswers(jobs, faults.disruptions);
      say(
        `[chaos] round ${round} settled: ${jobs.map((j) => `#${j.index} ${j.id ?? `(not created: ${j.submitStatus} ${j.submitError ?? ""})`} ${j.status ?? ""}${j.error ? ` (${j.error.slice(0, 140)})` : ""}`).join("; ")}`,
      );
      await prune(env, checker, vms);
    }

    // The end: everything kept is still intact, nothing is held, nothing is stray.
    await checker.recheckAll();
    await checker.checkPoolSettled();
    await checker.checkFiles();
  } catch (error) {
    const message =
      error instanceof Breach
        ? error.message
        : `the campaign failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    summary.breaches.push(message);
    summary.state = `${await checker.describe().catch(() => "(state unavailable)")}\n--- server output (tail) ---\n${env.outputTail(60_000)}`;
    say(`[chaos] BREACH (seed ${options.seed}): ${message}`);
  } finally {
    const problems = await env.teardown();
    for (const p of problems) summary.notes.push(`teardown: ${p}`);
  }
  summary.jobsCreated = records.filter((r) => r.id).length;
  for (const r of records) {
    const key = r.id ? (r.status ?? "unknown") : "not created";
    summary.jobsByStatus[key] = (summary.jobsByStatus[key] ?? 0) + 1;
  }
  summary.notes.push(...env.environmentNotes);
  if (checker.leakedClusters)
    summary.notes.push(
      `${checker.leakedClusters} completed backup(s) had leaked clusters (qemu-img check exit 3: harmless)`,
    );
  summary.checksTotal = Object.values(summary.checks).reduce((s, n) => s + n, 0);
  summary.durationSeconds = Math.round((Date.now() - began) / 1000);
  return summary;
}

/** Which VMs take part in a round (pure: the same for a seed, whatever happened before). */
export function planRound(
  rng: Prng,
  round: number,
  vmCount: number,
  remaining: number,
  maxJobsPerRound: number,
): { vms: number[] } {
  const rr = rng.fork(2_000_000 + round);
  const count = Math.min(rr.int(1, maxJobsPerRound), remaining);
  return { vms: rr.shuffle(Array.from({ length: vmCount }, (_, i) => i)).slice(0, count) };
}

/**
 * A job's wish for an incremental and its faults (pure, but for the caps on restarts). A job
 * without a copy long enough to strike (`strikable` false) gets no fault aimed at a copy.
 */
export function planJob(
  rng: Prng,
  index: number,
  kinds: readonly FaultKind[],
  caps: { restarts: number; pgRestarts: number },
  preset: Pick<Preset, "maxServerRestarts" | "maxPostgresRestarts" | "faultDelayMaxMs">,
  strikable = true,
): { wantIncremental: boolean; faults: { kind: FaultKind; delayMs: number; rng: Prng }[] } {
  const jr = rng.fork(index);
  const wantIncremental = jr.chance(0.45);
  const n = jr.chance(0.3) ? 2 : 1;
  const faults: { kind: FaultKind; delayMs: number; rng: Prng }[] = [];
  for (let i = 0; i < n; i += 1) {
    let kind = jr.weighted(kinds.map((k) => [k, WEIGHTS[k]] as const));
    if (kind === "server-restart" && caps.restarts >= preset.maxServerRestarts) kind = "cancel";
    if (kind === "postgres-restart" && caps.pgRestarts >= preset.maxPostgresRestarts) kind = "kill-mover";
    if (!strikable && COPY_FAULTS.includes(kind) && kinds.includes("cancel")) kind = "cancel";
    if (!kinds.includes(kind)) kind = kinds.find((k) => !GLOBAL.has(k)) ?? kind;
    if (kind === "server-restart") caps.restarts += 1;
    if (kind === "postgres-restart") caps.pgRestarts += 1;
    faults.push({ kind, delayMs: jr.int(0, preset.faultDelayMaxMs), rng: jr.fork(i) });
  }
  return { wantIncremental, faults };
}

async function submit(env: ChaosEnvironment, job: JobRecord, staggerMs: number): Promise<void> {
  await sleep(staggerMs);
  // Not while the server is down on purpose: that request could not have been made.
  for (let i = 0; i < 600 && (env.serverDown || !env.server); i += 1) await sleep(100);
  job.submittedAt = Date.now();
  const body = {
    vmName: job.vm.name,
    type: job.type,
    ...(job.retries ? { retries: job.retries } : {}),
    disks: job.vm.disks.map((d) => ({ diskId: d.diskId, source: d.source })),
  };
  const r = await env.api<{ id?: string; status?: string }>("POST", "/backups", body, 120_000);
  job.answeredAt = Date.now();
  job.submitStatus = r.status;
  if (r.status === 202 && r.body.id) {
    job.id = r.body.id;
    job.status ??= r.body.status;
  } else job.submitError = r.error ?? JSON.stringify(r.body).slice(0, 300);
}

async function makeVms(env: ChaosEnvironment, rng: Prng, preset: Preset): Promise<Vm[]> {
  const vms: Vm[] = [];
  for (let v = 0; v < preset.vms; v += 1) {
    const name = `vm${v}`;
    const disks: Vm["disks"] = [];
    const count = rng.int(1, 4);
    for (let d = 0; d < count; d += 1) {
      const kind = rng.weighted<SourceKind>([
        ["raw", 4],
        ["qcow2", 3],
        ["nbd", 3],
      ]);
      const diskId = `d${d}`;
      if (kind === "nbd") {
        const pair = rng.pick(env.nbd);
        disks.push({
          diskId,
          kind,
          source: pair.slow.uri,
          verifyPath: pair.fast.uri,
          verifyFormat: "raw",
          sizeMiB: pair.size,
          version: 0,
        });
      } else {
        const sizeMiB = rng.pick(preset.fileSizesMiB);
        const file = `${name}-${diskId}.${kind === "raw" ? "img" : "qcow2"}`;
        await env.makeFileSource(file, sizeMiB, kind);
        disks.push({
          diskId,
          kind,
          source: file,
          verifyPath: path.join(env.sourcesDir, file),
          verifyFormat: kind,
          sizeMiB,
          version: 0,
        });
      }
    }
    vms.push({ name, disks });
  }
  return vms;
}

/** An incremental needs a completed backup to build on, and the chain is kept short. */
async function canIncrement(env: ChaosEnvironment, vm: Vm): Promise<boolean> {
  const rows = await env.sql<{ type: string }>(
    `SELECT type FROM backup_jobs WHERE vm_name = $1 AND status = 'completed' ORDER BY finished_at DESC LIMIT 3`,
    [vm.name],
  );
  if (rows.length === 0) return false;
  return rows.some((r) => r.type === "full");
}

/** Change the VM's file disks a little before an incremental (the VM is idle now). */
async function mutateSources(env: ChaosEnvironment, vm: Vm, rng: Prng): Promise<void> {
  for (const disk of vm.disks) {
    if (disk.kind === "nbd" || !rng.chance(0.7)) continue;
    const offset = rng.int(0, disk.sizeMiB - 1);
    if (disk.kind === "raw") {
      const handle = await fs.open(disk.verifyPath, "r+");
      try {
        await handle.write(randomBytes(1024 * 1024), 0, 1024 * 1024, offset * 1024 * 1024);
      } finally {
        await handle.close();
      }
    } else {
      await execa("qemu-io", [
        "-f",
        "qcow2",
        "-c",
        `write -P 0x${rng.int(1, 255).toString(16)} ${offset}M 1M`,
        disk.verifyPath,
      ]);
    }
    disk.version += 1;
  }
}

/**
 * Keep the tmpfs small: per VM only the newest completed job's chain stays; older completed
 * targets (verified already) are deleted by the campaign, which remembers them as pruned.
 */
async function prune(env: ChaosEnvironment, checker: Checker, vms: Vm[]): Promise<void> {
  for (const vm of vms) {
    const rows = await env.sql<{
      job_id: string;
      target_path: string;
      backing_path: string | null;
      job_status: string;
      finished_at: Date;
    }>(
      `SELECT d.job_id, d.target_path, d.backing_path, j.status AS job_status, j.finished_at FROM backup_disks d JOIN backup_jobs j ON j.id = d.job_id
       WHERE j.vm_name = $1 AND d.status = 'completed' AND d.target_path IS NOT NULL ORDER BY j.finished_at DESC`,
      [vm.name],
    );
    const latest = rows.find((r) => r.job_status === "completed");
    const keep = new Set<string>();
    if (latest) {
      const queue = rows.filter((r) => r.job_id === latest.job_id);
      while (queue.length) {
        const r = queue.pop()!;
        if (keep.has(r.target_path)) continue;
        keep.add(r.target_path);
        if (r.backing_path) queue.push(...rows.filter((x) => x.target_path === r.backing_path));
      }
    }
    for (const r of rows) {
      if (keep.has(r.target_path) || checker.pruned.has(r.target_path)) continue;
      checker.pruned.add(r.target_path);
      if (existsSync(r.target_path)) await fs.rm(r.target_path, { force: true });
    }
  }
}
