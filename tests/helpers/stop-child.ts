// Stop a process a test started: SIGTERM, then SIGKILL after a grace period. nbdkit, for one,
// does not exit on SIGTERM while a client sits in its rate filter; a test must never hang on it.
import type { ChildProcess } from "node:child_process";
import { withDeadline } from "./wait";

export async function stopChild(child: ChildProcess, what: string, graceMs = 5000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  try {
    return await withDeadline(exited, graceMs, `${what} to exit after SIGTERM`);
  } catch {
    child.kill("SIGKILL");
    await withDeadline(exited, 10_000, `${what} to exit after SIGKILL`);
    return null;
  }
}
