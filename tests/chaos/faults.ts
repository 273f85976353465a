// The faults: each one waits for its moment, strikes, and says whether it hit something.
import net from "node:net";
import path from "node:path";
import { CHAOS_STALL, type ChaosEnvironment, type NbdPair } from "./environment";
import type { Disruption } from "./invariants";
import { COPY_FAULTS, isFinal, type FaultKind, type JobRecord } from "./model";
import { listProcesses, readStat, type Proc } from "./processes";
import type { Prng } from "./prng";

export type FaultPlan = { kind: FaultKind; delayMs: number; job?: JobRecord; rng: Prng };
export type FaultOutcome = { outcome: "injected" | "missed"; landed?: boolean; note: string };

type DiskProgress = { disk_id: string; status: string; transferred_bytes: string; total_bytes: string };
/** A disk in one of these is past its copy: a copy fault can no longer land on it. */
const PAST_COPY = ["verifying", "completed", "failed", "cancelled"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One at a time per group: two restarts (or a fill during read-only) would only blur each other. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/** How a note names a victim: an export or mover by its export name and port, a reader by its image. */
function whatOf(victim: Proc): string {
  if (victim.kind === "reader") return `reading ${victim.argv[victim.argv.length - 1]}`;
  return victim.port ? `${victim.exportName}, port ${victim.port}` : String(victim.exportName);
}

export class Faults {
  private readonly lifecycle = new Mutex();
  private readonly repository = new Mutex();
  readonly disruptions: Disruption[] = [];

  constructor(
    private readonly env: ChaosEnvironment,
    private readonly say: (line: string) => void,
  ) {}

  async run(plan: FaultPlan): Promise<FaultOutcome> {
    // Faults that strike a copy wait for its progress (copyingAt), not for the clock: a delay
    // first would let a copy of a few seconds end before the strike.
    if (!COPY_FAULTS.includes(plan.kind)) await sleep(plan.delayMs);
    switch (plan.kind) {
      case "kill-qemu-nbd":
        return this.killProcessOf(plan, "export");
      case "kill-mover":
        return this.killProcessOf(plan, "mover");
      case "cancel":
        return this.cancel(plan);
      case "server-restart":
        return this.lifecycle.run(() => this.serverRestart(plan));
      case "postgres-restart":
        return this.lifecycle.run(() => this.postgresRestart(plan));
      case "foreign-listener":
        return this.foreignListener(plan);
      case "repository-full":
        return this.repository.run(() => this.repositoryFull(plan));
      case "repository-readonly":
        return this.repository.run(() => this.repositoryReadOnly(plan));
      case "stop-qemu-nbd":
        return this.stopProcessOf(plan, "export");
      case "stop-mover":
        return this.stopProcessOf(plan, "mover");
      case "source-errors":
        return this.sourceErrors(plan);
      case "slow-source":
        return this.slowSource(plan);
    }
  }

  /**
   * Wait until one of the job's disks is copying (`transferring`) and has reached `fraction` of
   * its bytes (read from its row, which the hub updates about once a second), so that the fault
   * lands on a copy under way instead of a job that already ended. `only` narrows the disks.
   */
  private async copyingAt(
    job: JobRecord,
    fraction: number,
    only?: Set<string>,
  ): Promise<{ diskId: string; exportName: string } | { miss: string }> {
    const pct = `${Math.round(fraction * 100)} %`;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (isFinal(job.status)) return { miss: `job ${job.id ?? job.index} ended before a disk reached ${pct}` };
      if (!job.id && job.answeredAt && !this.env.serverDown)
        return { miss: `job ${job.index} was not created (${job.submitStatus})` };
      if (job.id) {
        const rows = await this.env
          .sql<DiskProgress>(
            `SELECT disk_id, status, GREATEST(transferred_bytes, COALESCE(progress_done_bytes, 0)) AS transferred_bytes,
             total_bytes FROM backup_disks WHERE job_id = $1`,
            [job.id],
            2000,
          )
          .catch(() => null);
        const mine = (rows ?? []).filter((r) => !only || only.has(r.disk_id));
        const ready = mine.filter(
          (r) =>
            r.status === "transferring" && Number(r.transferred_bytes) >= fraction * Math.max(1, Number(r.total_bytes)),
        );
        if (ready.length) {
          const diskId = ready[0].disk_id;
          return { diskId, exportName: `${job.vm.name}-${diskId}` };
        }
        if (rows && mine.length && mine.every((r) => PAST_COPY.includes(r.status)))
          return { miss: `job ${job.id}'s copies ended before one reached ${pct}` };
      }
      await sleep(50);
    }
    return { miss: `no disk of job ${job.id ?? job.index} reached ${pct} within 60 s` };
  }

  /** How the hub recorded a killed export's end: "stopped" (its own stop), "crashed", or unknown. */
  private async exportEnding(victim: Proc): Promise<string> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const rows = await this.env
        .sql<{ status: string }>(
          `SELECT status FROM nbd_exports WHERE pid = $1 AND port = $2 AND status IN ('stopped', 'crashed')`,
          [victim.pid, victim.port],
          2000,
        )
        .catch(() => []);
      if (rows.length) return rows[0].status;
      await sleep(100);
    }
    return "unknown";
  }

  /** Whether the disk is still copying (its row says `transferring`). */
  private async stillCopying(job: JobRecord, diskId: string): Promise<boolean> {
    const rows = await this.env
      .sql<{ status: string }>(
        `SELECT status FROM backup_disks WHERE job_id = $1 AND disk_id = $2`,
        [job.id, diskId],
        2000,
      )
      .catch(() => []);
    return rows[0]?.status === "transferring";
  }

  /**
   * Where a copy fault strikes: at once when a disk copies (three in four), else at 5-20 % of a
   * disk. The hub writes progress about once a second, so a copy of a few seconds shows one or two
   * fractions: higher marks would mostly find the copy done (the long run of seed 284936506 struck
   * half its faults at 5-30 % and 48 % of all kills and stops landed).
   */
  private fractionFor(plan: FaultPlan): number {
    return plan.rng.chance(0.75) ? 0 : plan.rng.int(5, 20) / 100;
  }

  /**
   * The copying disk's live processes of this kind. An incremental has no nbdcopy: the server's
   * own NBD client moves its data, reading the source or the previous point through a private
   * read-only qemu-nbd (a "reader"), so for it a mover fault strikes that reader instead.
   */
  private async processesOfDisk(job: JobRecord, diskId: string, kind: Proc["kind"]): Promise<Proc[]> {
    const exportName = `${job.vm.name}-${diskId}`;
    const all = await listProcesses(this.env.runDir);
    const found = all.filter((p) => p.kind === kind && p.exportName === exportName);
    if (found.length || kind !== "mover") return found;
    const source = job.vm.disks.find((d) => d.diskId === diskId)?.source;
    const pointsOfDisk = `${path.sep}${job.vm.name}${path.sep}${diskId}${path.sep}`;
    return all.filter((p) => {
      const image = p.argv[p.argv.length - 1] ?? "";
      return p.kind === "reader" && (image === source || image.includes(pointsOfDisk));
    });
  }

  /**
   * A copying disk of the job (at its share of bytes) and one of its live processes of this kind.
   * The row lags the copy by up to a second: a disk whose process already ended is passed over
   * for another disk of the job that still copies.
   */
  private async victimOf(
    plan: FaultPlan,
    kind: Proc["kind"],
  ): Promise<{ diskId: string; victim: Proc } | { miss: string }> {
    const job = plan.job!;
    const fraction = this.fractionFor(plan);
    const done = new Set<string>();
    // A rate-limited NBD source copies for seconds, a small file in well under one (between two
    // progress updates): when the job has such a disk, strike there, where a copy is there to hit.
    const slow = job.vm.disks.filter((d) => d.kind === "nbd");
    const all = new Set((slow.length ? slow : job.vm.disks).map((d) => d.diskId));
    for (;;) {
      const left = new Set([...all].filter((d) => !done.has(d)));
      if (!left.size) return { miss: `job ${job.index}'s ${kind} processes ended before the strike` };
      const at = await this.copyingAt(job, fraction, left);
      if ("miss" in at) return at;
      // A disk is marked `transferring` just before its mover starts: look again for a moment
      // while the row still says so, before passing the disk over.
      const lookUntil = Date.now() + 2000;
      for (;;) {
        const alive = await this.processesOfDisk(job, at.diskId, kind);
        if (alive.length) return { diskId: at.diskId, victim: plan.rng.pick(alive) };
        if (Date.now() > lookUntil || !(await this.stillCopying(job, at.diskId))) break;
        await sleep(50);
      }
      done.add(at.diskId);
    }
  }

  /**
   * The opening a kill and a stop share: once a disk of the job has copied its share, pick its
   * process of this kind and hold it still (SIGSTOP). Stopped, it cannot finish now, so the
   * disk's status says whether the strike `landed` on a copy still under way.
   */
  private async freezeVictim(
    plan: FaultPlan,
    kind: Proc["kind"],
  ): Promise<{ victim: Proc; landed: boolean } | { miss: string }> {
    const at = await this.victimOf(plan, kind);
    if ("miss" in at) return at;
    const held = await this.holdStill(at.victim);
    if (held !== "stopped") return { miss: `pid ${at.victim.pid} ${held} before the strike` };
    const landed = await this.stillCopying(plan.job!, at.diskId);
    // A reader the copy no longer reads from may be dropped without harm: striking it proves nothing.
    if (at.victim.kind === "reader" && !landed) {
      process.kill(at.victim.pid, "SIGCONT");
      return { miss: `reader pid ${at.victim.pid} was no longer read from` };
    }
    return { victim: at.victim, landed };
  }

  /** Once a disk of the job has copied its share, kill -9 its process of this kind. */
  private async killProcessOf(plan: FaultPlan, kind: Proc["kind"]): Promise<FaultOutcome> {
    const job = plan.job!;
    const frozen = await this.freezeVictim(plan, kind);
    if ("miss" in frozen) return { outcome: "missed", note: frozen.miss };
    const { victim, landed } = frozen;
    try {
      process.kill(victim.pid, "SIGKILL");
    } catch {
      return { outcome: "missed", note: `pid ${victim.pid} exited before the strike` };
    }
    // An export the hub was already stopping (its copy had ended, its SIGTERM sent) ends as the
    // hub's own stop: the kill cut nothing, and the job may complete (quick campaign, seed 122).
    if (kind === "export" && (await this.exportEnding(victim)) === "stopped") {
      return { outcome: "missed", note: `export pid ${victim.pid} was being stopped by the hub when the kill came` };
    }
    job.killed.push(`${victim.kind} pid ${victim.pid} (${whatOf(victim)})`);
    return {
      outcome: "injected",
      landed,
      note: `kill -9 ${victim.kind} pid ${victim.pid} of job ${job.id ?? job.index} (${whatOf(victim)})${landed ? " mid-copy" : ""}`,
    };
  }

  /**
   * Stop the victim (SIGSTOP) and wait until the kernel shows it stopped, so that the SIGKILL
   * that follows lands on a process that has not finished its work. A process that had already
   * called exit (its copy done, its status 0 decided) keeps that status whatever signal comes:
   * killing it proves nothing, and a job that then completes is right to (long campaign, seed
   * 1406175903: nbdcopy was killed while exiting 0 and the campaign called the completion a breach).
   */
  private async holdStill(
    victim: Proc,
  ): Promise<"stopped" | "exited" | "was already exiting" | "did not stop within 5 s"> {
    const first = await readStat(victim.pid);
    if (!first || first.state === "Z" || first.startTime !== victim.startTime) return "exited";
    if (first.exiting) return "was already exiting";
    try {
      process.kill(victim.pid, "SIGSTOP");
    } catch {
      return "exited";
    }
    const deadline = Date.now() + 5_000;
    for (;;) {
      const stat = await readStat(victim.pid);
      if (!stat || stat.state === "Z" || stat.startTime !== victim.startTime) return "exited";
      if (stat.exiting) return "was already exiting";
      // "t" is a traced stop; a process in uninterruptible sleep ("D") stops when it wakes.
      if (stat.state === "T" || stat.state === "t") return "stopped";
      if (Date.now() > deadline) {
        process.kill(victim.pid, "SIGCONT");
        return "did not stop within 5 s";
      }
      await sleep(5);
    }
  }

  /**
   * A hang: SIGSTOP of one of the job's processes, continued (SIGCONT) after a pause that is
   * shorter than the server's stall fail time (the job must go on and may complete) or longer
   * (the job must fail "no progress", its stopped processes killed). Never stuck.
   */
  private async stopProcessOf(plan: FaultPlan, kind: Proc["kind"]): Promise<FaultOutcome> {
    const job = plan.job!;
    const frozen = await this.freezeVictim(plan, kind);
    if ("miss" in frozen) return { outcome: "missed", note: frozen.miss };
    const { victim, landed } = frozen;
    const { failSeconds } = CHAOS_STALL;
    // Half resume well before the fail time, half only well after it (or never, when the hub killed it).
    const pauseMs = plan.rng.chance(0.5) ? plan.rng.int(200, (failSeconds - 3) * 1000) : (failSeconds + 4) * 1000;
    const what = `${victim.kind} pid ${victim.pid} (${whatOf(victim)})`;
    const record = { what, stoppedMs: null as number | null };
    (job.stops ??= []).push(record);
    const began = Date.now();
    await sleep(pauseMs);
    const still = await readStat(victim.pid);
    if (still && still.startTime === victim.startTime && still.state !== "Z") {
      try {
        process.kill(victim.pid, "SIGCONT");
        record.stoppedMs = Date.now() - began;
      } catch {
        /* ended meanwhile */
      }
    }
    const how = record.stoppedMs === null ? "ended while stopped" : `continued after ${record.stoppedMs} ms`;
    return {
      outcome: "injected",
      landed,
      note: `kill -STOP ${what} of job ${job.id ?? job.index}${landed ? " mid-copy" : ""}: ${how}`,
    };
  }

  /** The job's NBD disks, and the campaign's source pair behind each. */
  private nbdDisksOf(job: JobRecord): Map<string, NbdPair> {
    const out = new Map<string, NbdPair>();
    for (const d of job.vm.disks) {
      const pair = d.kind === "nbd" ? this.env.nbd.find((p) => p.slow.uri === d.source) : undefined;
      if (pair) out.set(d.diskId, pair);
    }
    return out;
  }

  /**
   * Read errors: once one of the job's NBD disks copies, every read of its source fails with EIO
   * for 0.3-2.5 s (nbdkit's error filter, switched by its trigger file). The job fails naming
   * the read error, or completes (a retry, or its reads were all under way before) identical to
   * its source. Other jobs reading the same source meet the errors too (they may fail: never complete with bad data).
   */
  private async sourceErrors(plan: FaultPlan): Promise<FaultOutcome> {
    const job = plan.job!;
    const struck = await this.switchSourceWhileCopying(
      plan,
      this.errorsOn,
      () => plan.rng.int(300, 2500),
      (pair, on) => this.env.sourceErrors(pair, on),
    );
    if ("miss" in struck) return { outcome: "missed", note: struck.miss };
    const { pair, from, to, holdMs } = struck;
    (job.sourceErrors ??= []).push({ source: pair.slow.uri, from, to });
    return {
      outcome: "injected",
      landed: struck.landed,
      note: `reads of ${pair.slow.uri} failed (EIO) for ${holdMs} ms while job ${job.id} copied ${struck.diskId}`,
    };
  }

  /**
   * A slow source: once one of the job's NBD disks copies, its source's rate drops to 4 or 8
   * Mbit/s for 1-5 s (nbdkit's rate filter reads its rate file while it runs): a 256 KiB request
   * then takes 0.25-0.5 s, well under the stall time. The copy moves, slower: never stalled.
   */
  private async slowSource(plan: FaultPlan): Promise<FaultOutcome> {
    const job = plan.job!;
    let rate = "";
    const struck = await this.switchSourceWhileCopying(
      plan,
      this.slowedOn,
      () => {
        rate = plan.rng.pick(["4M", "8M"]);
        return plan.rng.int(1000, 5000);
      },
      (pair, on) => this.env.sourceRate(pair, on ? rate : null),
    );
    if ("miss" in struck) return { outcome: "missed", note: struck.miss };
    const { pair, from, to, holdMs } = struck;
    (job.slowed ??= []).push({ source: pair.slow.uri, rate, from, to });
    return {
      outcome: "injected",
      landed: struck.landed,
      note: `${pair.slow.uri} slowed to ${rate}bit/s for ${holdMs} ms while job ${job.id} copied ${struck.diskId}`,
    };
  }

  /**
   * What the source faults share: once one of the job's NBD disks has copied its share, turn its
   * source's switch on for `choose()` ms (drawn then, so a seed draws as before), then off again.
   */
  private async switchSourceWhileCopying(
    plan: FaultPlan,
    held: Map<NbdPair, number>,
    choose: () => number,
    turn: (pair: NbdPair, on: boolean) => Promise<void>,
  ): Promise<
    { pair: NbdPair; diskId: string; landed: boolean; from: number; to: number; holdMs: number } | { miss: string }
  > {
    const job = plan.job!;
    const disks = this.nbdDisksOf(job);
    if (!disks.size) return { miss: `job ${job.index} (${job.vm.name}) reads no NBD source` };
    const at = await this.copyingAt(job, this.fractionFor(plan), new Set(disks.keys()));
    if ("miss" in at) return at;
    const pair = disks.get(at.diskId)!;
    const holdMs = choose();
    const from = Date.now();
    await this.switchOn(held, pair, () => turn(pair, true));
    const landed = await this.stillCopying(job, at.diskId);
    try {
      await sleep(holdMs);
    } finally {
      await this.switchOff(held, pair, () => turn(pair, false));
    }
    return { pair, diskId: at.diskId, landed, from, to: Date.now(), holdMs };
  }

  /** Switches shared by overlapping faults on one source: on at the first, off after the last. */
  private readonly errorsOn = new Map<NbdPair, number>();
  private readonly slowedOn = new Map<NbdPair, number>();

  private async switchOn(held: Map<NbdPair, number>, pair: NbdPair, on: () => Promise<void>): Promise<void> {
    held.set(pair, (held.get(pair) ?? 0) + 1);
    await on();
  }

  private async switchOff(held: Map<NbdPair, number>, pair: NbdPair, off: () => Promise<void>): Promise<void> {
    const left = (held.get(pair) ?? 1) - 1;
    held.set(pair, left);
    if (left === 0) await off();
  }

  private async cancel(plan: FaultPlan): Promise<FaultOutcome> {
    const job = plan.job!;
    const deadline = Date.now() + 10_000;
    while (!job.id && Date.now() < deadline) await sleep(100);
    if (!job.id) return { outcome: "missed", note: `job ${job.index} has no id to cancel` };
    if (isFinal(job.status)) return { outcome: "missed", note: `job ${job.id} already ${job.status}` };
    const entry: JobRecord["cancels"][number] = { sentAt: Date.now() };
    job.cancels.push(entry);
    const r = await this.env.api("POST", `/backups/${encodeURIComponent(job.id)}/cancel`, undefined, 120_000);
    entry.answeredAt = Date.now();
    entry.status = r.status;
    entry.error = r.error;
    if (r.status === 202) return { outcome: "injected", note: `cancel of ${job.id} accepted` };
    if (r.status === 409) return { outcome: "missed", note: `cancel of ${job.id}: it had already ended` };
    return {
      outcome: r.status === 0 ? "missed" : "injected",
      note: `cancel of ${job.id} answered ${r.status} ${r.error ?? JSON.stringify(r.body).slice(0, 200)}`,
    };
  }

  private async serverRestart(plan: FaultPlan): Promise<FaultOutcome> {
    const d: Disruption = { kind: "server-restart", from: Date.now() };
    this.disruptions.push(d);
    try {
      await this.env.killServer();
      await sleep(plan.rng.int(0, 2000));
      const t = Date.now();
      await this.env.restartServer();
      return { outcome: "injected", note: `server SIGKILLed, up again in ${((Date.now() - t) / 1000).toFixed(1)} s` };
    } finally {
      d.to = Date.now();
    }
  }

  private async postgresRestart(plan: FaultPlan): Promise<FaultOutcome> {
    const d: Disruption = { kind: "postgres-restart", from: Date.now() };
    this.disruptions.push(d);
    try {
      await this.env.stopPostgres();
      const down = plan.rng.int(300, 4000);
      await sleep(down);
      await this.env.startPostgres();
      return { outcome: "injected", note: `postgres stopped (fast) for ${down} ms` };
    } finally {
      d.to = Date.now();
    }
  }

  private async foreignListener(plan: FaultPlan): Promise<FaultOutcome> {
    const { min, max } = this.env.range;
    const ports = plan.rng.shuffle(Array.from({ length: max - min + 1 }, (_, i) => min + i));
    for (const port of ports) {
      const server = net.createServer((socket) => socket.destroy());
      const ok = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen({ port, host: "127.0.0.1", exclusive: true }, () => resolve(true));
      });
      if (!ok) continue;
      const hold = plan.rng.int(1500, 8000);
      await sleep(hold);
      await new Promise((r) => server.close(r));
      return { outcome: "injected", note: `a foreign program listened on pool port ${port} for ${hold} ms` };
    }
    return { outcome: "missed", note: "every pool port was busy" };
  }

  private async repositoryFull(plan: FaultPlan): Promise<FaultOutcome> {
    const size = await this.env.fillRepository();
    const hold = plan.rng.int(800, 5000);
    try {
      await sleep(hold);
    } finally {
      await this.env.unfillRepository();
    }
    return {
      outcome: "injected",
      note: `repository full (${Math.round(size / 1024 / 1024)} MiB filler) for ${hold} ms`,
    };
  }

  private async repositoryReadOnly(plan: FaultPlan): Promise<FaultOutcome> {
    await this.env.makeRepositoryReadOnly();
    const hold = plan.rng.int(800, 5000);
    try {
      await sleep(hold);
    } finally {
      await this.env.makeRepositoryWritable();
    }
    return { outcome: "injected", note: `repository read-only for ${hold} ms` };
  }
}
