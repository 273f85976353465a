// The part of the process helper that starts children with execa: used inside the helper
// process (lib/proc/spawner.mjs) and, when that cannot start, inside the server itself
// (lib/proc/child.ts). Plain JavaScript, so the helper needs no build step. Requests and events
// are plain objects (they cross the IPC channel); their types are in spawner-core.d.mts.
import { readFileSync } from "node:fs";
import { execa } from "execa";

/**
 * Field 22 of /proc/PID/stat as a decimal string, or null. Read right after the spawn, while
 * the child cannot have been reaped yet, so its pid is certainly still this child's.
 */
function startTimeOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const field = text.slice(text.lastIndexOf(")") + 2).split(" ")[19];
    return /^\d+$/.test(field ?? "") ? field : null;
  } catch {
    return null;
  }
}

/** `emit(event)` receives spawned / out / exit events; returns spawn and kill. */
export function createChildRunner(emit) {
  const running = new Map();

  function spawn({ id, file, args, options: o }) {
    const streamed = (mode) => (mode === "ignore" ? "ignore" : "pipe");
    const stdio = [o.stdin ?? "ignore", streamed(o.stdout ?? "pipe"), streamed(o.stderr ?? "pipe")];
    if (o.fd3) stdio.push("pipe");
    let child;
    try {
      child = execa(file, args, {
        env: o.env,
        extendEnv: false,
        stdio,
        buffer: { stdout: o.stdout === "pipe" || o.stdout === undefined, stderr: o.stderr !== "stream", fd3: false },
        reject: false,
        ...(o.cwd ? { cwd: o.cwd } : {}),
        ...(o.timeout ? { timeout: o.timeout } : {}),
        ...(o.uid !== undefined ? { uid: o.uid, gid: o.gid } : {}),
        detached: Boolean(o.detached),
        cleanup: o.cleanup !== false,
        ...(o.forceKillAfterDelay === false ? { forceKillAfterDelay: false } : {}),
      });
    } catch (error) {
      emit({ t: "exit", id, result: failure(String(error?.message ?? error)) });
      return;
    }
    const pid = child.pid;
    const entry = { child, pid, exited: false };
    running.set(id, entry);
    if (pid !== undefined) emit({ t: "spawned", id, pid, startTime: startTimeOf(pid) });
    if (o.stderr === "stream") child.stderr?.on("data", (data) => emit({ t: "out", id, fd: 2, data }));
    if (o.fd3) child.stdio[3]?.on("data", (data) => emit({ t: "out", id, fd: 3, data }));
    child.once("exit", () => {
      // A group's other members (nbdcopy's private qemu-nbd) end with its leader: one still
      // waiting for a connection would hold the leader's stderr open, and the run never ends.
      if (o.killGroupOnExit) signalGroup(pid, "SIGKILL");
      entry.exited = true;
    });
    child.then((r) => {
      running.delete(id);
      emit({
        t: "exit",
        id,
        result: {
          exitCode: r.exitCode,
          signal: r.signal,
          stdout: typeof r.stdout === "string" ? r.stdout : "",
          stderr: typeof r.stderr === "string" ? r.stderr : "",
          failed: r.failed,
          timedOut: r.timedOut,
          spawnFailed: r.failed && r.exitCode === undefined && !r.signal && !r.timedOut,
          message: r.message ?? "",
          shortMessage: r.shortMessage ?? "",
        },
      });
    });
  }

  /** A signal to the child (through its handle, never to a reaped pid) or to its group. */
  function kill({ id, signal, group }) {
    const entry = running.get(id);
    if (!entry || entry.exited) return;
    if (group && entry.pid !== undefined) signalGroup(entry.pid, signal);
    else entry.child.kill(signal);
  }

  return { spawn, kill };
}

function signalGroup(pid, signal) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* the group is gone */
  }
}

function failure(message) {
  return {
    exitCode: undefined,
    signal: undefined,
    stdout: "",
    stderr: "",
    failed: true,
    timedOut: false,
    spawnFailed: true,
    message,
    shortMessage: message,
  };
}
