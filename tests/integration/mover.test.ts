// The built-in mover's kill (issue 11, item 17): once nbdcopy has exited, nothing signals its
// old process group any more (its id may belong to someone else by then), however often and
// however late the job asks to kill it.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startMover } from "@/lib/backup/mover";
import { slowSource, type NbdSource } from "../helpers/nbdkit";

let source: NbdSource;
let runDir: string;

beforeAll(async () => {
  source = await slowSource("256M", "1M");
  runDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-mover-"));
});

afterAll(async () => {
  await source?.stop();
  if (runDir) await rm(runDir, { recursive: true, force: true });
});

describe("mover kill", () => {
  it("leaves no SIGKILL timer behind once nbdcopy exited, and a kill after the exit sends nothing", async () => {
    const kill = vi.spyOn(process, "kill");
    // Only the mover's own timers are faked; nbdcopy and its exit are real.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const mover = await startMover([source.uri, "null:"], runDir, () => undefined);
      // A cancel kills with a grace period, and the job's abort kills again a moment later.
      mover.kill(60_000);
      mover.kill(1_000);
      await expect(mover.done).rejects.toThrow(/SIGTERM/);
      const sentBefore = kill.mock.calls.length;
      mover.kill(10);
      // Before the fix the first kill's SIGKILL timer outlived the exit (only the last one was
      // cleared), and a kill after a signalled exit sent SIGTERM and armed another.
      expect(vi.getTimerCount(), "SIGKILL timers left after nbdcopy exited").toBe(0);
      vi.advanceTimersByTime(120_000);
      expect(kill.mock.calls.slice(sentBefore), "signals sent after nbdcopy exited").toEqual([]);
    } finally {
      vi.useRealTimers();
      kill.mockRestore();
    }
  });
});
