// The built-in data mover: nbdcopy from the source into the export, sparse-aware, flushed,
// with machine-readable progress on file descriptor 3 ("N/100" lines).
import "server-only";
import { startChild } from "@/lib/proc/child";
import type { InspectedSource } from "./source";

export type MoverHandle = {
  pid: number | undefined;
  /** Resolves when nbdcopy exits 0; rejects with its own words otherwise. */
  done: Promise<void>;
  /** SIGTERM (with SIGCONT, so a stopped mover gets it now), then SIGKILL after `graceMs`. */
  kill(graceMs?: number): void;
};

export function moverArgs(
  source: InspectedSource,
  destination: string,
  { destinationIsZero }: { destinationIsZero: boolean },
): string[] {
  const args = ["--flush", "--progress=3"];
  // A fresh qcow2 reads as zeros: nbdcopy then skips zero areas instead of writing them.
  if (destinationIsZero) args.push("--destination-is-zero");
  if (source.kind === "file" && source.format === "qcow2") {
    // nbdcopy reads a plain file as raw; a qcow2 source is served by a private qemu-nbd.
    return [
      ...args,
      "--",
      "[",
      "qemu-nbd",
      "--read-only",
      "--format=qcow2",
      "--cache=none",
      "--aio=native",
      source.path,
      "]",
      destination,
    ];
  }
  return [...args, source.kind === "file" ? source.path : source.uri, destination];
}

/** Environment variable that marks a mover as started by the nbdhub whose run dir it names. */
export const MOVER_MARK = "NBDHUB_MOVER_OF";

/** Start nbdcopy; resolves once it runs (or could not be started: then `done` says why). */
export async function startMover(
  args: string[],
  runDir: string,
  onPercent: (percent: number) => void,
): Promise<MoverHandle> {
  const child = startChild("nbdcopy", args, {
    // Found again after a crash of the server by this mark (orphan-movers.ts); nothing else
    // of the server's environment reaches it (lib/proc/child-env.ts).
    env: { [MOVER_MARK]: runDir },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    fd3: true,
    // Its own process group, shared with the private qemu-nbd it starts for a qcow2 source.
    detached: true,
    // However nbdcopy ends (done, SIGTERM, killed from outside), its helper must end with it:
    // a helper still waiting for its first connection never exits on its own, and it holds
    // nbdcopy's stderr open, so the copy would never be seen to end and the job would hang,
    // holding its exports and ports. The process helper kills the group at nbdcopy's exit and
    // refuses group signals after it (the id may be reused then).
    killGroupOnExit: true,
  });
  let exited = false;
  let killTimer: NodeJS.Timeout | undefined;
  const signalGroup = (signal: NodeJS.Signals) => {
    if (!exited) child.kill(signal, { group: true });
  };
  let pending = "";
  child.onFd3((chunk) => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const match = /^(\d+)\/100$/.exec(line.trim());
      if (match) onPercent(Number(match[1]));
    }
  });
  const done = child.result
    .finally(() => {
      exited = true;
      // A kill in progress has nothing left to escalate.
      clearTimeout(killTimer);
      killTimer = undefined;
    })
    .then((result) => {
      if (result.exitCode === 0 && !result.signal) return;
      if (result.spawnFailed) throw new Error(`the mover (nbdcopy) could not be started: ${result.shortMessage}`);
      const words = result.stderr.trim().split("\n").filter(Boolean).slice(-3).join("; ");
      const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
      throw new Error(`the mover (nbdcopy) ${how}${words ? `: ${words}` : ""}`);
    });
  // Awaited by the caller once it has the handle; not "unhandled" meanwhile.
  done.catch(() => undefined);
  const started = await child.spawned;
  return {
    pid: started?.pid,
    done,
    kill(graceMs = 3000) {
      // Ended already (also by a signal, when exitCode stays null), or a kill is under way: one
      // SIGKILL timer at most, cleared when nbdcopy exits.
      if (exited || killTimer) return;
      signalGroup("SIGTERM");
      // A stopped process (SIGSTOP, a hang test) acts on SIGTERM only once continued.
      signalGroup("SIGCONT");
      killTimer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
      killTimer.unref();
    },
  };
}
