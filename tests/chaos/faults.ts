// The faults: each one waits for its moment, strikes, and says whether it hit something.
import net from "node:net";
import { CHAOS_STALL, type ChaosEnvironment } from "./environment";
import type { Disruption } from "./invariants";
import { isFinal, type FaultKind, type JobRecord } from "./model";
import { listProcesses, readStat, vmOf, type Proc } from "./processes";
import type { Prng } from "./prng";

export type FaultPlan = { kind: FaultKind; delayMs: number; job?: JobRecord; rng: Prng };
export type FaultOutcome = { outcome: "injected" | "missed"; note: string };

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

export class Faults {
  private readonly lifecycle = new Mutex();
  private readonly repository = new Mutex();
  readonly disruptions: Disruption[] = [];

  constructor(
    private readonly env: ChaosEnvironment,
    private readonly say: (line: string) => void,
  ) {}

  async run(plan: FaultPlan): Promise<FaultOutcome> {
    await sleep(plan.delayMs);
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
    }
  }

  /** The job's processes of this kind, waiting up to 15 s for one to appear (none once the job ended). */
  private async processesOf(job: JobRecord, kind: Proc["kind"]): Promise<Proc[]> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (job.status && isFinal(job.status)) return [];
      const found = (await listProcesses(this.env.runDir)).filter((p) => p.kind === kind && vmOf(p) === job.vm.name);
      if (found.length) return found;
      await sleep(50);
    }
    return [];
  }

  /** Wait until the job has a process of this kind, then strike at a random moment. */
  private async killProcessOf(plan: FaultPlan, kind: Proc["kind"]): Promise<FaultOutcome> {
    const job = plan.job!;
    const targets = await this.processesOf(job, kind);
    if (!targets.length) return { outcome: "missed", note: `job ${job.index} had no ${kind} process to kill` };
    // Copies of small files take well under a second: often strike at once.
    if (plan.rng.chance(0.6)) await sleep(plan.rng.int(0, 800));
    const alive = (await listProcesses(this.env.runDir)).filter((p) => p.kind === kind && vmOf(p) === job.vm.name);
    if (!alive.length)
      return { outcome: "missed", note: `job ${job.index}'s ${kind} processes ended before the strike` };
    const victim = plan.rng.pick(alive);
    const landed = await this.holdStill(victim);
    if (landed !== "stopped") return { outcome: "missed", note: `pid ${victim.pid} ${landed} before the strike` };
    try {
      process.kill(victim.pid, "SIGKILL");
    } catch {
      return { outcome: "missed", note: `pid ${victim.pid} exited before the strike` };
    }
    job.killed.push(`${kind} pid ${victim.pid} (${victim.exportName})`);
    return {
      outcome: "injected",
      note: `kill -9 ${kind} pid ${victim.pid} of job ${job.id ?? job.index} (${victim.exportName}, port ${victim.port})`,
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
    const targets = await this.processesOf(job, kind);
    if (!targets.length) return { outcome: "missed", note: `job ${job.index} had no ${kind} process to stop` };
    const victim = plan.rng.pick(targets);
    const stat = await readStat(victim.pid);
    if (!stat || stat.state === "Z" || stat.startTime !== victim.startTime)
      return { outcome: "missed", note: `pid ${victim.pid} exited before the stop` };
    try {
      process.kill(victim.pid, "SIGSTOP");
    } catch {
      return { outcome: "missed", note: `pid ${victim.pid} exited before the stop` };
    }
    const { failSeconds } = CHAOS_STALL;
    // Half resume well before the fail time, half only well after it (or never, when the hub killed it).
    const pauseMs = plan.rng.chance(0.5) ? plan.rng.int(200, (failSeconds - 3) * 1000) : (failSeconds + 4) * 1000;
    const what = `${kind} pid ${victim.pid} (${victim.exportName})`;
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
    return { outcome: "injected", note: `kill -STOP ${what} of job ${job.id ?? job.index}: ${how}` };
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
