// The invariants of issue #8 (and issue 19's source faults, 6), checked against three witnesses
// that must agree: the rows in Postgres, the processes in /proc and the files in the repository.
import { execa } from "execa";
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import type { ChaosEnvironment } from "./environment";
import { FILLER } from "./environment";
import { Breach, isFinal, type JobRecord } from "./model";
import { listProcesses, vmOf, type Proc } from "./processes";

const LIVE = ["starting", "ready", "stopping"];
/** Invariant 1: a job must be final this long after the last of its processes ended. */
export const FINAL_WITHIN_MS = 30_000;

type DiskRow = {
  job_id: string;
  disk_id: string;
  status: string;
  target_path: string | null;
  backing_path: string | null;
  source: string;
  error: string | null;
};
type JobRow = {
  id: string;
  vm_name: string;
  type: string;
  status: string;
  error: string | null;
  created_at: Date;
  finished_at: Date | null;
};
type EventView = { kind: string; message: string };
type AuditItem = { action: string; target: string | null; result: string; status: number | null; at: string };

export type Disruption = { kind: string; from: number; to?: number };

/** Whether a server crash (SIGKILL, not a Postgres outage) overlapped [from, to]. */
function crashDuring(disruptions: Disruption[], from: number, to: number): boolean {
  return disruptions.some((d) => d.kind === "server-restart" && d.from <= to && (d.to ?? Date.now()) >= from);
}

/**
 * Until when an audit row of a request made in [from, to] may still wait in the server's memory:
 * to the answer, or, when a Postgres outage overlapped the request, to a few seconds after the
 * outage (the audit trail keeps rows while the database is away and retries every 2 s). A server
 * SIGKILL before then loses the row with the memory (long campaign seed 161688931).
 */
function rowKeptUntil(disruptions: Disruption[], from: number, to: number): number {
  let until = to;
  for (const d of disruptions) {
    const end = d.to ?? Date.now();
    if (d.kind === "postgres-restart" && d.from <= until && end >= from) until = Math.max(until, end + 5_000);
  }
  return until;
}

/** The job's allowed backup.start row is in the audit trail. */
function hasStartRow(audit: AuditItem[], job: JobRecord): boolean {
  return audit.some(
    (a) => a.action === "backup.start" && a.result === "allowed" && a.target === `vmName=${job.vm.name}`,
  );
}
const cancelRowsOf = (audit: AuditItem[], job: JobRecord) =>
  audit.filter((a) => a.action === "backup.cancel" && a.target === job.id).length;
/** The cancels of the job the server answered (any status): each must have its audit row. */
const answeredCancels = (job: JobRecord) => job.cancels.filter((x) => x.status && x.status > 0);

export class Checker {
  readonly checks: Record<string, number> = {};
  /** Completed targets already checked and compared (path → source versions matched). */
  readonly verified = new Map<string, { job: JobRecord; diskId: string }>();
  /** Completed targets the campaign deleted itself to keep the tmpfs small. */
  readonly pruned = new Set<string>();
  readonly notes: string[] = [];
  leakedClusters = 0;

  constructor(
    private readonly env: ChaosEnvironment,
    private readonly say: (line: string) => void,
  ) {}

  private count(name: string, n = 1) {
    this.checks[name] = (this.checks[name] ?? 0) + n;
  }

  // ---- job ids: a request cut off by a crash may still have created its job ----

  async resolveIds(jobs: JobRecord[], roundStart: number): Promise<void> {
    for (const job of jobs) {
      if (job.id) continue;
      const rows = await this.env.sql<{ id: string }>(
        `SELECT id FROM backup_jobs WHERE vm_name = $1 AND created_at >= $2 ORDER BY created_at`,
        [job.vm.name, new Date(roundStart - 2000)],
      );
      if (rows.length > 1)
        throw new Breach(
          5,
          `one request for ${job.vm.name} created ${rows.length} jobs: ${rows.map((r) => r.id).join(", ")}`,
        );
      if (rows.length === 1) job.id = rows[0].id;
    }
  }

  // ---- invariant 1 ----

  /**
   * Wait until every job of the round is final. A job that is not final 30 s after the last
   * of its processes ended (or after the last disruption, or its submission) is a breach.
   */
  async settle(jobs: JobRecord[], roundStart: number, disruptions: Disruption[], hardLimitMs = 300_000): Promise<void> {
    const started = Date.now();
    const lastSign = new Map<JobRecord, number>();
    for (;;) {
      const now = Date.now();
      const down = this.env.serverDown || this.env.pgDown || disruptions.some((d) => d.to === undefined);
      const lastDisruption = Math.max(0, ...disruptions.map((d) => d.to ?? now));
      await this.resolveIds(jobs, roundStart);
      const ids = jobs.flatMap((j) => (j.id ? [j.id] : []));
      const rows = ids.length
        ? await this.env.sql<JobRow>(`SELECT id, status, error FROM backup_jobs WHERE id = ANY($1)`, [ids])
        : [];
      for (const job of jobs) {
        const row = rows.find((r) => r.id === job.id);
        if (row) {
          job.status = row.status;
          job.error = row.error;
        }
      }
      const open = jobs.filter((j) => j.id && !isFinal(j.status));
      if (open.length === 0) break;
      if (!down && !this.env.serverAlive())
        throw new Breach(
          1,
          `the server exited on its own (code ${this.env.server?.process.exitCode}, signal ${this.env.server?.process.signalCode})`,
        );
      const procs = await listProcesses(this.env.runDir);
      for (const job of open) {
        const own = procs.filter((p) => vmOf(p) === job.vm.name);
        // A queued job waits for ports that running processes hold.
        const sign = own.length > 0 || (job.status === "queued" && procs.length > 0) || down ? now : 0;
        // Not watched before the round's faults were all done (a copy fault may wait up to a
        // minute for progress): the 30 s count starts when this watch does.
        const last = Math.max(lastSign.get(job) ?? started, sign, job.answeredAt ?? job.submittedAt, lastDisruption);
        lastSign.set(job, last);
        if (now - last > FINAL_WITHIN_MS) {
          throw new Breach(
            1,
            `job ${job.id} (${job.vm.name}) is still ${job.status} ${Math.round((now - last) / 1000)} s after its last process ended (or the last disruption)`,
          );
        }
      }
      if (now - started > hardLimitMs)
        throw new Breach(
          1,
          `jobs ${open.map((j) => `${j.id}=${j.status}`).join(", ")} not final after ${hardLimitMs / 1000} s`,
        );
      await new Promise((r) => setTimeout(r, 400));
    }
    this.count("1 final status in time", jobs.filter((j) => j.id).length);
  }

  // ---- invariant 2 ----

  private async poolState() {
    const [allocations, exports, procs] = await Promise.all([
      this.env.sql<{ port: number; job_id: string }>(`SELECT port, job_id FROM port_allocations ORDER BY port`),
      this.env.sql<{ port: number; pid: number | null; job_id: string; status: string }>(
        `SELECT port, pid, job_id, status FROM nbd_exports WHERE status = ANY($1) ORDER BY port`,
        [LIVE],
      ),
      listProcesses(this.env.runDir),
    ]);
    return { allocations, exports, procs };
  }

  /** Settled (every job final): allocations = running exports = live qemu-nbd, and nothing else of ours runs. */
  async checkPoolSettled(): Promise<void> {
    let last = "";
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { allocations, exports, procs } = await this.poolState();
      const a = allocations.map((r) => r.port).join(",");
      const e = exports.map((r) => r.port).join(",");
      const p = procs
        .filter((x) => x.kind === "export")
        .map((x) => x.port)
        .sort((x, y) => (x ?? 0) - (y ?? 0))
        .join(",");
      const others = procs.filter((x) => x.kind !== "export");
      // No job runs, so nothing may be held at all (the campaign allocates nothing by hand).
      if (a === e && e === p && a === "" && others.length === 0) break;
      last = `allocated [${a}], exports running [${e}], qemu-nbd alive on [${p}], other processes ${JSON.stringify(others.map((x) => ({ pid: x.pid, kind: x.kind, exportName: x.exportName })))}`;
      if (Date.now() > deadline) throw new Breach(2, `with every job final: ${last}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    this.count("2 pool = exports = processes");
  }

  /**
   * While jobs run: every running export row's port is allocated to its job (one statement, so
   * one snapshot), and no export qemu-nbd stays unknown to every row for 15 s.
   */
  async checkPoolRunning(): Promise<void> {
    if (this.env.serverDown || this.env.pgDown) return;
    const unowned = await this.env.sql<{ port: number; job_id: string }>(
      `SELECT e.port, e.job_id FROM nbd_exports e LEFT JOIN port_allocations a ON a.port = e.port AND a.job_id = e.job_id
       WHERE e.status = ANY($1) AND a.port IS NULL`,
      [LIVE],
    );
    if (unowned.length) throw new Breach(2, `running exports without their allocation: ${JSON.stringify(unowned)}`);
    const outside = (await listProcesses(this.env.runDir)).filter(
      (p) =>
        p.kind === "export" && (p.port === undefined || p.port < this.env.range.min || p.port > this.env.range.max),
    );
    if (outside.length)
      throw new Breach(
        2,
        `qemu-nbd outside the pool: ${JSON.stringify(outside.map((p) => ({ pid: p.pid, port: p.port })))}`,
      );
    let suspects: Proc[] | null = null;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (this.env.serverDown || this.env.pgDown) return;
      const { exports, procs } = await this.poolState();
      const known = new Set(exports.map((r) => r.pid));
      const now = procs.filter(
        (p) =>
          p.kind === "export" &&
          !known.has(p.pid) &&
          (!suspects || suspects.some((s) => s.pid === p.pid && s.startTime === p.startTime)),
      );
      suspects = now;
      if (suspects.length === 0) break;
      if (Date.now() > deadline)
        throw new Breach(
          2,
          `qemu-nbd that no row knows, for 15 s: ${JSON.stringify(suspects.map((p) => ({ pid: p.pid, port: p.port, exportName: p.exportName })))}`,
        );
      await new Promise((r) => setTimeout(r, 1000));
    }
    this.count("2 running exports consistent");
  }

  // ---- invariant 3 ----

  private async qemuImgCheck(file: string): Promise<void> {
    const r = await execa("qemu-img", ["check", "-q", "-f", "qcow2", "--force-share", file], { reject: false });
    if (r.exitCode === 3) this.leakedClusters += 1;
    else if (r.exitCode !== 0)
      throw new Breach(
        3,
        `qemu-img check failed on ${file} (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(-500)}`,
      );
  }

  private async compare(job: JobRecord, diskId: string, file: string): Promise<void> {
    const disk = job.vm.disks.find((d) => d.diskId === diskId);
    if (!disk) throw new Breach(3, `completed disk ${diskId} of ${job.id} is not one the campaign asked for`);
    const run = () =>
      execa(
        "qemu-img",
        ["compare", "-q", "--force-share", "-f", disk.verifyFormat, "-F", "qcow2", disk.verifyPath, file],
        { reject: false },
      );
    let r = await run();
    const source = this.env.nbd.find((p) => p.fast.uri === disk.verifyPath)?.fast;
    if (r.exitCode !== 0 && r.exitCode !== 1 && source) {
      // The campaign's own nbdkit may have been restarted under the compare: once more.
      await source.ready();
      r = await run();
    }
    if (r.exitCode === 1)
      throw new Breach(
        3,
        `completed backup ${file} (job ${job.id}, disk ${diskId}) differs from its source ${disk.verifyPath}`,
      );
    if (r.exitCode !== 0)
      throw new Breach(
        3,
        `qemu-img compare of ${file} and ${disk.verifyPath} failed (exit ${r.exitCode}): ${r.stderr.trim().slice(-500)}`,
      );
  }

  /** Every completed disk of these jobs: intact, its chain present, identical to its source. */
  async checkCompleted(jobs: JobRecord[]): Promise<void> {
    const ids = jobs.flatMap((j) => (j.id ? [j.id] : []));
    if (!ids.length) return;
    const disks = await this.env.sql<DiskRow>(
      `SELECT job_id, disk_id, status, target_path, backing_path, source, error FROM backup_disks WHERE job_id = ANY($1)`,
      [ids],
    );
    for (const d of disks.filter((x) => x.status === "completed")) {
      const job = jobs.find((j) => j.id === d.job_id)!;
      if (!d.target_path || !existsSync(d.target_path))
        throw new Breach(3, `completed disk ${d.disk_id} of ${d.job_id} has no target file (${d.target_path})`);
      const disk = job.vm.disks.find((x) => x.diskId === d.disk_id);
      if (disk && disk.version !== job.versions[d.disk_id])
        throw new Error(`campaign bug: source of ${job.vm.name}/${d.disk_id} changed under job ${job.id}`);
      await this.qemuImgCheck(d.target_path);
      if (d.backing_path) {
        if (!existsSync(d.backing_path))
          throw new Breach(3, `the backing file ${d.backing_path} of ${d.target_path} is gone`);
        const info = await execa(
          "qemu-img",
          ["info", "--backing-chain", "--force-share", "--output=json", d.target_path],
          { reject: false },
        );
        if (info.exitCode !== 0)
          throw new Breach(
            3,
            `the backing chain of ${d.target_path} cannot be opened: ${info.stderr.trim().slice(-300)}`,
          );
      }
      await this.compare(job, d.disk_id, d.target_path);
      this.verified.set(d.target_path, { job, diskId: d.disk_id });
      this.count("3 completed backup checked and compared");
    }
    // A job the campaign killed a process of cannot have completed (a copy was cut off), unless
    // it had retries and a disk was copied again (its events say disk.retrying).
    for (const job of jobs) {
      if (job.status !== "completed" || !job.killed.length) continue;
      if (job.retries > 0) {
        const r = await this.env.api<{ events: EventView[] }>("GET", `/backups/${encodeURIComponent(job.id!)}`);
        if (r.status === 200 && r.body.events.some((e) => e.kind === "disk.retrying")) continue;
      }
      throw new Breach(5, `job ${job.id} completed although the campaign killed ${job.killed.join(", ")} during it`);
    }
  }

  /** At the end: every kept backup is still intact, and identical when its source did not change since. */
  async recheckAll(): Promise<void> {
    for (const [file, { job, diskId }] of this.verified) {
      if (this.pruned.has(file)) continue;
      if (!existsSync(file)) throw new Breach(3, `completed backup ${file} (job ${job.id}) disappeared`);
      await this.qemuImgCheck(file);
      const disk = job.vm.disks.find((d) => d.diskId === diskId)!;
      if (disk.version === job.versions[diskId]) await this.compare(job, diskId, file);
      this.count("3 final re-check");
    }
  }

  // ---- invariant 4 ----

  /**
   * The hub removes a target it could not remove at the job's end (read-only repository) on
   * a retry every few seconds: a stray file must be gone within 15 s.
   */
  async checkFiles(): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await this.checkFilesOnce();
        return;
      } catch (error) {
        if (!(error instanceof Breach) || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async checkFilesOnce(): Promise<void> {
    const files: string[] = [];
    const walk = async (dir: string) => {
      for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (!(dir === this.env.repoDir && e.name.startsWith(FILLER))) files.push(p);
      }
    };
    await walk(this.env.repoDir);
    const completed = new Set(
      (
        await this.env.sql<{ target_path: string }>(
          `SELECT target_path FROM backup_disks WHERE status = 'completed' AND target_path IS NOT NULL`,
        )
      ).map((r) => r.target_path),
    );
    const stray = files.filter((f) => !completed.has(f));
    if (stray.length) {
      const rows = await this.env.sql<{ job_id: string; disk_id: string; status: string; error: string | null }>(
        `SELECT d.job_id, d.disk_id, d.status, d.error FROM backup_disks d WHERE d.target_path = ANY($1)`,
        [stray],
      );
      throw new Breach(
        4,
        `files in the repository that no completed disk names: ${stray.join(", ")}; their rows: ${JSON.stringify(rows)}`,
      );
    }
    for (const file of completed) {
      if (!this.pruned.has(file) && !existsSync(file))
        throw new Breach(4, `completed backup ${file} is missing from the repository`);
    }
    this.count("4 no stray target files");
  }

  // ---- invariant 5 ----

  async checkStories(jobs: JobRecord[], roundStart: number, disruptions: Disruption[]): Promise<void> {
    for (const job of jobs) {
      if (!job.id) continue;
      const r = await this.env.api<{ status: string; error: string | null; events: EventView[] }>(
        "GET",
        `/backups/${encodeURIComponent(job.id)}`,
      );
      if (r.status !== 200)
        throw new Breach(5, `GET /backups/${job.id} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
      const endings = r.body.events.filter((e) => ["job.completed", "job.failed", "job.cancelled"].includes(e.kind));
      if (endings.length !== 1 || endings[0].kind !== `job.${r.body.status}`) {
        throw new Breach(
          5,
          `job ${job.id} is ${r.body.status} but its events end with ${JSON.stringify(endings.map((e) => e.kind))}: ${r.body.events.map((e) => e.kind).join(" ")}`,
        );
      }
      if (r.body.status === "failed" && !r.body.error) throw new Breach(5, `job ${job.id} failed without a reason`);
      if (r.body.status === "cancelled" && job.cancels.length === 0)
        throw new Breach(5, `job ${job.id} was cancelled but nobody asked`);
      if (/address already in use/i.test(r.body.error ?? ""))
        throw new Breach(2, `job ${job.id} failed on a port taken by another program: ${r.body.error}`);
      if (job.cancels.some((c) => c.status === 202) && !r.body.events.some((e) => e.kind === "job.cancel_requested")) {
        throw new Breach(5, `job ${job.id}: a cancel was accepted but no job.cancel_requested event says so`);
      }
      this.count("5 job events tell the ending");
    }
    // The audit trail: a backup.start row per job, a backup.cancel row per answered cancel. Only a
    // server crash may lose one (a row written after the answer, or kept in memory while Postgres
    // was away); a Postgres outage alone must not: the audit trail keeps rows while it is away,
    // and an accepted request answers 2xx.
    const audit = await this.auditOf(jobs, roundStart - 2000);
    const overlapped = (from: number, to: number) =>
      crashDuring(disruptions, from, rowKeptUntil(disruptions, from, to));
    for (const job of jobs) {
      if (!job.id) continue;
      const found = hasStartRow(audit, job);
      if (!found) {
        // Written after the answer: a crash or a database outage during the request loses it.
        if (overlapped(job.submittedAt, job.answeredAt ?? Date.now()))
          this.notes.push(`job ${job.id}: no backup.start audit row; a server crash came before it was written`);
        else
          throw new Breach(
            5,
            `job ${job.id} (${job.vm.name}, POST answered ${job.submitStatus}) has no allowed backup.start audit row`,
          );
      }
      const cancelRows = cancelRowsOf(audit, job);
      const answered = answeredCancels(job);
      if (cancelRows < answered.length) {
        const during = answered.filter((c) => overlapped(c.sentAt, c.answeredAt ?? Date.now()));
        if (cancelRows + during.length >= answered.length)
          this.notes.push(
            `job ${job.id}: a cancel (answered ${during.map((c) => c.status).join(", ")}) has no backup.cancel audit row; a server crash came before it was written`,
          );
        else
          throw new Breach(
            5,
            `job ${job.id}: ${answered.length} cancel(s) answered (${answered.map((c) => c.status).join(", ")}) but ${cancelRows} backup.cancel audit row(s)`,
          );
      }
      this.count("5 audit trail");
    }
  }

  /**
   * The API's answers: never a 500 (503 while the database is away is fine), and a job exists
   * only when its request was accepted (202) or got no answer (a crash). A server crash during
   * the request excuses both (noted).
   */
  checkAnswers(jobs: JobRecord[], disruptions: Disruption[]): void {
    for (const job of jobs) {
      const answers = [
        { what: "POST /backups", status: job.submitStatus, from: job.submittedAt, to: job.answeredAt },
        ...job.cancels.map((c) => ({ what: "cancel", status: c.status, from: c.sentAt, to: c.answeredAt })),
      ];
      for (const a of answers.filter((x) => x.status === 500)) {
        if (crashDuring(disruptions, a.from, a.to ?? Date.now()))
          this.notes.push(`${a.what} of job #${job.index} answered 500 while the server was killed`);
        else throw new Breach(5, `${a.what} of job #${job.index} (${job.id ?? "no id"}) answered 500`);
      }
      const refused = job.submitStatus !== undefined && job.submitStatus !== 0 && job.submitStatus !== 202;
      if (job.id && refused) {
        if (crashDuring(disruptions, job.submittedAt, job.answeredAt ?? Date.now()))
          this.notes.push(`job ${job.id} was created although its POST answered ${job.submitStatus} (server crash)`);
        else
          throw new Breach(
            5,
            `POST /backups for ${job.vm.name} answered ${job.submitStatus} (${job.submitError ?? ""}) but created job ${job.id}`,
          );
      }
    }
    this.count("5 answers: no 500, refused creates nothing", jobs.length);
  }

  // ---- invariant 6 ----

  /**
   * Source faults tell the truth. A job whose own faults were only source faults, in a round
   * without a global fault: when read errors struck its copy and it failed, its error names the
   * read error (EIO); when its source was only slowed, it was never stalled and did not fail on
   * "no progress" (the slowed source answers a request every 0.25-0.5 s, well under the stall
   * time). A completed job is compared with its source by invariant 3 either way.
   */
  async checkSourceFaults(jobs: JobRecord[], roundHadGlobalFault: boolean): Promise<void> {
    const errorWindows = jobs.flatMap((j) => j.sourceErrors ?? []);
    for (const job of jobs) {
      if (!job.id || roundHadGlobalFault) continue;
      const own = job.faults.every((k) => k === "source-errors" || k === "slow-source");
      if (!own) continue;
      if (job.sourceErrors?.length && job.status === "failed") {
        if (!/Input\/output error|EIO/.test(job.error ?? ""))
          throw new Breach(6, `job ${job.id} failed under source read errors but says: ${job.error}`);
        this.count("6 source errors named");
      }
      if (!job.slowed?.length) continue;
      // Read errors on the same source (another job's fault) may fail this one: not a stall.
      const sources = new Set(job.slowed.map((s) => s.source));
      if (job.sourceErrors?.length || errorWindows.some((w) => sources.has(w.source))) continue;
      const r = await this.env.api<{ status: string; error: string | null; events: EventView[] }>(
        "GET",
        `/backups/${encodeURIComponent(job.id)}`,
      );
      if (r.status !== 200) throw new Breach(6, `GET /backups/${job.id} answered ${r.status}`);
      const stalled = r.body.events.filter((e) => e.kind === "disk.stalled");
      if (stalled.length)
        throw new Breach(
          6,
          `job ${job.id} was reported stalled while its slowed source still moved (${job.slowed.map((s) => `${s.rate}bit/s`).join(", ")}): ${stalled.map((e) => e.message).join("; ")}`,
        );
      if (/no progress/.test(r.body.error ?? ""))
        throw new Breach(6, `job ${job.id} failed as stalled while its slowed source moved: ${r.body.error}`);
      this.count("6 slow source never stalled");
    }
  }

  /**
   * The audit rows since `since`, read until every job's start and answered cancels have theirs,
   * for at most 10 s: rows an outage kept in memory are written at the audit trail's next retry
   * (every 2 s) once Postgres is back, which may come just after the round settled. What is
   * still missing then is judged by the caller.
   */
  private async auditOf(jobs: JobRecord[], since: number): Promise<AuditItem[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const audit = await this.auditSince(since);
      const complete = jobs.every(
        (job) => !job.id || (hasStartRow(audit, job) && cancelRowsOf(audit, job) >= answeredCancels(job).length),
      );
      if (complete || Date.now() > deadline) return audit;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  private async auditSince(since: number): Promise<AuditItem[]> {
    const out: AuditItem[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page += 1) {
      const q: URLSearchParams = new URLSearchParams({
        action: "backup.",
        from: new Date(since).toISOString(),
        limit: "500",
        ...(cursor ? { cursor } : {}),
      });
      const r: { status: number; body: { items: AuditItem[]; nextCursor: string | null } } = await this.env.api(
        "GET",
        `/audit?${q}`,
      );
      if (r.status !== 200)
        throw new Breach(5, `GET /audit answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
      out.push(...r.body.items);
      cursor = r.body.nextCursor;
      if (!cursor) break;
    }
    return out;
  }

  // ---- the state, for a breach report ----

  async describe(): Promise<string> {
    const part = async (name: string, fn: () => Promise<unknown>) => {
      try {
        return `${name}: ${JSON.stringify(await fn(), (_k, v) => (typeof v === "bigint" ? v.toString() : v), 1)}`;
      } catch (error) {
        return `${name}: (unavailable: ${error instanceof Error ? error.message : String(error)})`;
      }
    };
    return [
      await part("jobs (latest 30)", () =>
        this.env.sql(
          `SELECT id, vm_name, type, status, error, created_at, finished_at FROM backup_jobs ORDER BY created_at DESC LIMIT 30`,
          [],
          5000,
        ),
      ),
      await part("disks of unfinished or failed jobs", () =>
        this.env.sql(
          `SELECT d.job_id, d.disk_id, d.status, d.port, d.pid, d.target_path, d.error FROM backup_disks d JOIN backup_jobs j ON j.id = d.job_id WHERE j.status <> 'completed' ORDER BY j.created_at DESC LIMIT 40`,
          [],
          5000,
        ),
      ),
      await part("allocations", () =>
        this.env.sql(`SELECT port, job_id, export_name, allocated_at FROM port_allocations ORDER BY port`, [], 5000),
      ),
      await part("export rows (live, and the latest 10 ended)", () =>
        this.env.sql(
          `(SELECT port, pid, job_id, disk_id, status, error FROM nbd_exports WHERE status = ANY($1)) UNION ALL (SELECT port, pid, job_id, disk_id, status, error FROM nbd_exports WHERE status <> ALL($1) ORDER BY stopped_at DESC NULLS LAST LIMIT 10)`,
          [LIVE],
          5000,
        ),
      ),
      await part("events of unfinished jobs", () =>
        this.env.sql(
          `SELECT e.job_id, e.at, e.kind, e.message FROM job_events e JOIN backup_jobs j ON j.id = e.job_id WHERE j.status IN ('queued','running') ORDER BY e.id LIMIT 60`,
          [],
          5000,
        ),
      ),
      await part("database sessions not idle", () =>
        this.env.sql(
          `SELECT pid, state, wait_event_type, wait_event, now() - xact_start AS in_transaction, left(query, 200) AS query FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()`,
          [],
          5000,
        ),
      ),
      await part("processes", async () =>
        (await listProcesses(this.env.runDir)).map((p) => ({
          pid: p.pid,
          kind: p.kind,
          port: p.port,
          exportName: p.exportName,
        })),
      ),
    ].join("\n");
  }
}
