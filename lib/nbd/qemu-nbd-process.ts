// One qemu-nbd process: spawned through the process helper (lib/proc/child.ts) in its own
// process group and watched for its exit event; or, when it is not our child (adopted after a
// restart, or the helper died), watched through /proc.
import "server-only";
import { ProcessHelperDied, startChild } from "@/lib/proc/child";
import { isProcessAlive, signalProcess } from "@/lib/proc/stat";
import { QEMU_NBD } from "./qemu-nbd-command";
import { messageOf } from "@/lib/messages";

export type ExitResult = {
  exitCode: number | null;
  signal: string | null;
  spawnError?: string;
  /** Watched through /proc (adopted, or the process helper died): its exit status went elsewhere. */
  notOurChild?: boolean;
};

export type RunningProcess = {
  pid: number;
  /** Field 22 of /proc/PID/stat; null if the process was gone before it could be read. */
  startTime: bigint | null;
  /** Resolves once the process has exited (never rejects). */
  exited: Promise<ExitResult>;
  /** The last lines qemu-nbd wrote to stderr ("" for a process that is not our child). */
  stderrTail(): string;
  signal(signal: NodeJS.Signals): boolean;
  /** Watch more closely while a stop waits for it (a process watched through /proc). */
  hurry?(): void;
  /** Stop watching it through /proc (the export's end is recorded). */
  cancel?(): void;
};

const STDERR_KEEP_BYTES = 8192;
const STDERR_TAIL_LINES = 20;

export function lastLines(text: string, lines = STDERR_TAIL_LINES): string {
  return text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-lines)
    .join("\n");
}

/** Spawn qemu-nbd. Resolves with pid null when it could not even be spawned (not installed). */
export async function spawnQemuNbd(args: string[]): Promise<RunningProcess | { pid: null; error: string }> {
  let stderr = "";
  const child = startChild(QEMU_NBD, args, {
    // Its own process group: a Ctrl-C on nbdhub's terminal must not kill the export before
    // nbdhub has stopped it, and a crash of nbdhub leaves it for the reconciler to adopt.
    detached: true,
    stdin: "ignore",
    stdout: "ignore",
    stderr: "stream",
    // nbdhub stops exports itself (SIGTERM, 10 s, SIGKILL); execa must not kill them on exit
    // (of the server or of the process helper) nor escalate after its own 5 s.
    cleanup: false,
    forceKillAfterDelay: false,
  });
  child.onStderr((chunk) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_KEEP_BYTES);
  });
  // When the process helper dies, qemu-nbd runs on, no longer anyone's child we hear from:
  // from then on it is watched and signalled by pid and start time, like an adopted export.
  let foreign: ReturnType<typeof watchForeignProcess> | undefined;
  let hurried = false;
  const exited: Promise<ExitResult> = child.result.then(
    (r) => ({
      exitCode: r.exitCode ?? null,
      signal: r.signal ?? null,
      ...(r.spawnFailed ? { spawnError: r.shortMessage } : {}),
    }),
    (error: unknown) => {
      if (error instanceof ProcessHelperDied && error.runsOn && error.started) {
        foreign = watchForeignProcess(error.started.pid, error.started.startTime);
        if (hurried) foreign.hurry();
        return foreign.exited;
      }
      return { exitCode: null, signal: null, spawnError: messageOf(error) };
    },
  );
  const started = await child.spawned;
  if (!started) {
    const result = await exited;
    return { pid: null, error: result.spawnError ?? "qemu-nbd could not be started" };
  }
  return {
    pid: started.pid,
    // Read by the helper right after the spawn, before the child could be reaped.
    startTime: started.startTime,
    exited,
    stderrTail: () => lastLines(stderr),
    // Through the helper's child handle: once reaped, the pid is never signalled again.
    signal: (sig) => (foreign ? foreign.signal(sig) : child.kill(sig)),
    hurry() {
      hurried = true;
      foreign?.hurry();
    },
    cancel: () => foreign?.cancel(),
  };
}

/**
 * A process that is not our child (adopted after a restart): there is no exit event, so
 * /proc is checked every `intervalMs` for this pid only. `hurry()` checks every 50 ms while
 * a stop waits for it.
 */
export function watchForeignProcess(
  pid: number,
  startTime: bigint | null,
  intervalMs = 500,
): RunningProcess & { cancel(): void; hurry(): void } {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  let interval = intervalMs;
  let resolveExit!: (r: ExitResult) => void;
  const exited = new Promise<ExitResult>((resolve) => (resolveExit = resolve));
  const tick = async () => {
    if (cancelled) return;
    if (!(await isProcessAlive(pid, startTime))) {
      // Not our child: its exit code went to whoever reaped it.
      resolveExit({ exitCode: null, signal: null, notOurChild: true });
      return;
    }
    timer = setTimeout(tick, interval);
  };
  timer = setTimeout(tick, 0);
  return {
    pid,
    startTime,
    exited,
    stderrTail: () => "",
    signal: (sig) => signalProcess(pid, sig),
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
    hurry() {
      interval = 50;
      clearTimeout(timer);
      timer = setTimeout(tick, 0);
    },
  };
}

/**
 * qemu-nbd drops a SIGTERM that lands between writing its pid file and entering its main
 * loop: the handler turns RUNNING into TERMINATE, then main() sets `state = RUNNING` (qemu-nbd.c,
 * still so in 7.2). So SIGTERM is repeated while we wait; the handler only acts on RUNNING,
 * so the repeats cannot disturb a shutdown under way.
 */
export const SIGTERM_REPEAT_MS = 100;

export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM (repeated), up to `timeoutMs`, then SIGKILL. Resolves once SIGTERM worked or SIGKILL was sent. */
export async function terminate(
  proc: Pick<RunningProcess, "signal" | "exited">,
  timeoutMs: number,
): Promise<{ killed: boolean }> {
  proc.signal("SIGTERM");
  // A stopped qemu-nbd (SIGSTOP, a hang) acts on SIGTERM only once continued.
  proc.signal("SIGCONT");
  const repeat = setInterval(() => proc.signal("SIGTERM"), SIGTERM_REPEAT_MS);
  try {
    if (await within(proc.exited, timeoutMs)) return { killed: false };
  } finally {
    clearInterval(repeat);
  }
  proc.signal("SIGKILL");
  return { killed: true };
}
