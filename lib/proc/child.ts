// The one way lib/ starts a child process (a guard test keeps it so). Every child is started
// by the process helper (lib/proc/spawner.mjs, docs/decisions/022-spawner.md), with execa, the
// explicit environment of child-env.ts and `extendEnv: false`: execa, like Node's spawn, would
// otherwise pass the server's whole environment, secrets included. Node 20 forks the whole
// calling process to start a child, so the server (hundreds of MiB) leaves that to the small
// helper and talks to it over IPC. If the helper cannot start at all, children are started
// from the server itself, as before (logged once).
import "server-only";
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createLogger } from "@/lib/log";
import { messageOf } from "@/lib/messages";
import { childEnv } from "./child-env";
import {
  createChildRunner,
  type KillRequest,
  type RunResult,
  type SpawnerEvent,
  type SpawnOptions,
  type SpawnRequest,
} from "./spawner-core.mjs";
import { isProcessAlive } from "./stat";

export type ChildOptions = Omit<SpawnOptions, "env"> & {
  /** Variables this child needs beyond PATH and the locale. */
  env?: Record<string, string>;
  /** false: a failed run resolves with its result instead of rejecting. */
  reject?: boolean;
  /** Aborting sends SIGTERM; the result then says isCanceled. */
  cancelSignal?: AbortSignal;
};

export type ChildResult = RunResult & { isCanceled: boolean };
export type Started = { pid: number; startTime: bigint | null };

export type ChildHandle = {
  /** Its pid and start time once it runs; null when it could not be started (the result says why). */
  spawned: Promise<Started | null>;
  /** Its exit and output; rejects with ProcessHelperDied when the helper died first. */
  result: Promise<ChildResult>;
  /** Chunks of stderr (`stderr: "stream"`) and of file descriptor 3 (`fd3: true`). */
  onStderr(listener: (chunk: Buffer) => void): void;
  onFd3(listener: (chunk: Buffer) => void): void;
  /** A signal to the child, or to its process group; false once it has exited. */
  kill(signal?: NodeJS.Signals, options?: { group?: boolean }): boolean;
};

/**
 * The helper died while this child ran. A child that outlives the server (`cleanup: false`,
 * qemu-nbd) was left running (`runsOn`), to be watched by pid and start time; any other was
 * killed (its process group when detached) before this is thrown.
 */
export class ProcessHelperDied extends Error {
  constructor(
    message: string,
    readonly started: Started | null,
    readonly runsOn: boolean,
  ) {
    super(message);
    this.name = "ProcessHelperDied";
  }
}

/** Start a child; its handle. */
export function startChild(file: string, args: readonly string[], options: ChildOptions = {}): ChildHandle {
  const { reject: _reject, cancelSignal, env, ...rest } = options;
  void _reject;
  const run = spawner().start({ file, args: [...args], options: { ...rest, env: childEnv(env) } });
  if (!cancelSignal) return run.handle;
  let canceled = false;
  const cancel = () => {
    canceled = true;
    run.handle.kill("SIGTERM");
  };
  if (cancelSignal.aborted) cancel();
  else cancelSignal.addEventListener("abort", cancel, { once: true });
  const result = run.handle.result.then((r) => ({ ...r, isCanceled: canceled && r.failed }));
  void result.finally(() => cancelSignal.removeEventListener("abort", cancel)).catch(() => {});
  return { ...run.handle, result };
}

/** Run a child to its end; rejects with its error when it failed, unless `reject: false`. */
export async function runChild(
  file: string,
  args: readonly string[],
  options: ChildOptions = {},
): Promise<ChildResult> {
  const result = await startChild(file, args, options).result;
  if (result.failed && options.reject !== false) throw new Error(result.message || result.shortMessage);
  return result;
}

/** Start the helper now rather than on the first child (at runtime start). */
export function startProcessHelper(): void {
  spawner().warmUp();
}

type Request = Omit<SpawnRequest, "t" | "id">;
type Run = {
  id: number;
  /** Where it was sent: moved to the in-process runner when the helper never started. */
  transport: Transport;
  request: Request;
  started: Started | null;
  settled: boolean;
  handle: ChildHandle;
  stderr: ((chunk: Buffer) => void)[];
  fd3: ((chunk: Buffer) => void)[];
  resolveSpawned(started: Started | null): void;
  resolveResult(result: ChildResult): void;
  rejectResult(error: Error): void;
};
/** One helper process (or the server itself, `proc` null) and the runs sent to it. */
type Transport = {
  proc: ChildProcess | null;
  ready: boolean;
  dead: boolean;
  queue: (SpawnRequest | KillRequest)[];
  runs: Map<number, Run>;
  send(message: SpawnRequest | KillRequest): void;
};

/** Found at run time from the project root, like the migrations: never through the bundler. */
const spawnerFile = () => path.join(process.cwd(), "lib", "proc", "spawner.mjs");
/** How long a killed orphan is waited for before its run fails anyway. */
const ORPHAN_GONE_MS = 5000;

/** The server's end of the process helper; one per process (`spawner()`), or one per test. */
export class Spawner {
  private current: Transport | null = null;
  private direct: Transport | null = null;
  private nextId = 1;

  constructor(
    private readonly file = spawnerFile(),
    private readonly log = createLogger("nbdhub:spawner"),
  ) {}

  warmUp(): void {
    this.transport();
  }

  /** Start a child (`startChild` is this with the minimal environment added). */
  start(request: Request): Run {
    const transport = this.transport();
    const id = this.nextId++;
    let resolveSpawned!: (s: Started | null) => void;
    let resolveResult!: (r: ChildResult) => void;
    let rejectResult!: (e: Error) => void;
    const spawned = new Promise<Started | null>((resolve) => (resolveSpawned = resolve));
    const result = new Promise<ChildResult>((resolve, reject) => {
      resolveResult = resolve;
      rejectResult = reject;
    });
    const run: Run = {
      id,
      transport,
      request,
      started: null,
      settled: false,
      stderr: [],
      fd3: [],
      resolveSpawned,
      resolveResult,
      rejectResult,
      handle: {
        spawned,
        result,
        onStderr: (listener) => void run.stderr.push(listener),
        onFd3: (listener) => void run.fd3.push(listener),
        kill: (signal = "SIGTERM", { group = false } = {}) => {
          if (run.settled || run.transport.dead) return false;
          run.transport.send({ t: "kill", id, signal, group });
          return true;
        },
      },
    };
    transport.runs.set(id, run);
    this.refresh(transport);
    transport.send({ t: "spawn", id, ...request });
    return run;
  }

  private transport(): Transport {
    if (this.direct) return this.direct;
    if (!this.current || this.current.dead) this.current = this.fork();
    return this.current;
  }

  private fork(): Transport {
    const transport: Transport = {
      proc: null,
      ready: false,
      dead: false,
      queue: [],
      runs: new Map(),
      send: (message) => {
        if (transport.ready && transport.proc?.connected) transport.proc.send(message);
        else if (!transport.ready) transport.queue.push(message);
      },
    };
    try {
      const proc = fork(this.file, [], {
        // The helper itself gets the children's minimal environment: no secrets.
        env: childEnv() as NodeJS.ProcessEnv,
        execArgv: [],
        serialization: "advanced",
        stdio: ["ignore", "ignore", "inherit", "ipc"],
      });
      transport.proc = proc;
      proc.on("message", (event: SpawnerEvent) => {
        if (event.t === "ready") {
          transport.ready = true;
          for (const message of transport.queue.splice(0)) proc.send(message);
          this.refresh(transport);
        } else this.onEvent(transport, event);
      });
      // A send racing the helper's death fails here; the exit below handles the runs.
      proc.on("error", (error) => this.onHelperGone(transport, messageOf(error)));
      proc.once("exit", (code, signal) =>
        this.onHelperGone(transport, signal ? `killed by ${signal}` : `exit ${code}`),
      );
    } catch (error) {
      queueMicrotask(() => this.onHelperGone(transport, messageOf(error)));
    }
    this.refresh(transport);
    return transport;
  }

  private onEvent(transport: Transport, event: SpawnerEvent): void {
    if (event.t === "ready") return;
    const run = transport.runs.get(event.id);
    if (!run) return;
    if (event.t === "spawned") {
      run.started = { pid: event.pid, startTime: event.startTime === null ? null : BigInt(event.startTime) };
      run.resolveSpawned(run.started);
    } else if (event.t === "out") {
      const chunk = Buffer.isBuffer(event.data) ? event.data : Buffer.from(event.data);
      for (const listener of event.fd === 2 ? run.stderr : run.fd3) listener(chunk);
    } else {
      transport.runs.delete(event.id);
      run.settled = true;
      run.resolveSpawned(run.started);
      run.resolveResult({ ...event.result, isCanceled: false });
      this.refresh(transport);
    }
  }

  private onHelperGone(transport: Transport, why: string): void {
    if (transport.dead) return;
    transport.dead = true;
    if (this.current === transport) this.current = null;
    if (!transport.ready) {
      // It never answered: start children from the server itself from now on.
      this.log.error("the process helper could not start; children are started by the server itself", { why });
      const direct = this.useDirect();
      // What was queued for it (spawns, and kills sent before it answered), in order.
      for (const message of transport.queue) {
        const run = transport.runs.get(message.id);
        if (!run) continue;
        run.transport = direct;
        direct.runs.set(run.id, run);
        direct.send(message);
      }
      transport.runs.clear();
      return;
    }
    this.log.error("the process helper died; the next child starts a new one", {
      why,
      running: transport.runs.size,
    });
    for (const run of transport.runs.values()) void this.orphaned(run);
    transport.runs.clear();
  }

  private useDirect(): Transport {
    if (this.direct) return this.direct;
    const direct: Transport = {
      proc: null,
      ready: true,
      dead: false,
      queue: [],
      runs: new Map(),
      send: (message) => (message.t === "spawn" ? runner.spawn(message) : runner.kill(message)),
    };
    const runner = createChildRunner((event) => this.onEvent(direct, event));
    this.direct = direct;
    return direct;
  }

  /** The helper died while `run` ran: qemu-nbd runs on; anything else is killed, then fails. */
  private async orphaned(run: Run): Promise<void> {
    run.settled = true;
    const name = path.basename(run.request.file);
    const started = run.started;
    run.resolveSpawned(started);
    if (!started) {
      run.rejectResult(new ProcessHelperDied(`the process helper died before ${name} started`, null, false));
      return;
    }
    if (run.request.options.cleanup === false) {
      run.rejectResult(new ProcessHelperDied(`the process helper died; ${name} runs on`, started, true));
      return;
    }
    const { pid, startTime } = started;
    if (await isProcessAlive(pid, startTime)) {
      try {
        process.kill(run.request.options.detached ? -pid : pid, "SIGKILL");
      } catch {
        /* gone meanwhile */
      }
    }
    // No longer our grandchild's parent's child: init reaps it; a zombie counts as gone.
    const deadline = Date.now() + ORPHAN_GONE_MS;
    while (Date.now() < deadline && (await isProcessAlive(pid, startTime))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    run.rejectResult(new ProcessHelperDied(`the process helper died; ${name} was killed`, started, false));
  }

  /** The helper keeps the server alive only while it runs children for it (tests, scripts). */
  private refresh(transport: Transport): void {
    const proc = transport.proc;
    if (!proc || transport.dead) return;
    const busy = transport.runs.size > 0 || !transport.ready;
    if (busy) {
      proc.ref();
      proc.channel?.ref();
    } else {
      proc.unref();
      proc.channel?.unref();
    }
  }
}

const KEY = Symbol.for("nbdhub.spawner");

/** One helper per server process: Next.js does not share module state between its bundles. */
function spawner(): Spawner {
  const holder = globalThis as typeof globalThis & { [KEY]?: Spawner };
  return (holder[KEY] ??= new Spawner());
}
