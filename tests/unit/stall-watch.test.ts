// The stall rule (lib/backup/stall-watch.ts) as pure logic: a fake clock and progress probe,
// no processes. What processes add (CPU time, I/O, a stopped one) is covered by
// tests/integration/stalls.test.ts against real nbdcopy and qemu-nbd.
import { describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config/env";
import { watchStalls } from "@/lib/backup/stall-watch";

function harness() {
  let clock = 0;
  let bytes = 0;
  const changes: (number | null)[] = [];
  const fails: number[] = [];
  const watch = watchStalls({
    progress: () => bytes,
    processes: async () => [],
    stallSeconds: 2,
    failSeconds: 5,
    onStallChange: (since) => changes.push(since ? since.getTime() : null),
    onFail: (seconds) => fails.push(seconds),
    everyMs: 3_600_000,
    now: () => clock,
  });
  // Each look runs on a timer in the real watch; here the test drives them.
  const look = async (at: number, moved = false) => {
    clock = at;
    if (moved) bytes += 1;
    await watch.lookNow();
  };
  return { watch, look, changes, fails };
}

describe("stall watch", () => {
  it("shows stalled after the stall time, since the last move, and fails once at the fail time", async () => {
    const { watch, look, changes, fails } = harness();
    await look(1000, true);
    await look(2500);
    expect(changes).toEqual([]);
    await look(3000);
    expect(changes).toEqual([1000]);
    expect(watch.stalledSince?.getTime()).toBe(1000);
    await look(5900);
    expect(fails).toEqual([]);
    await look(6000);
    await look(9000);
    expect(fails).toEqual([5]);
    watch.stop();
  });

  it("moving again clears the stall and restarts the count", async () => {
    const { watch, look, changes, fails } = harness();
    await look(0, true);
    await look(2000);
    await look(4000, true);
    expect(changes).toEqual([0, null]);
    await look(8500);
    expect(fails).toEqual([]);
    await look(9000);
    expect(fails).toEqual([5]);
    watch.stop();
  });
});

describe("stall settings", () => {
  it("default to 60 and 300 s; external jobs fail after the stall fail time unless NBDHUB_STALE_AFTER_SECONDS says", () => {
    expect(parseConfig({})).toMatchObject({ stallSeconds: 60, stallFailSeconds: 300, staleAfterSeconds: 300 });
    const small = parseConfig({ NBDHUB_STALL_SECONDS: "2", NBDHUB_STALL_FAIL_SECONDS: "5" });
    expect(small).toMatchObject({ stallSeconds: 2, stallFailSeconds: 5, staleAfterSeconds: 5 });
    const both = parseConfig({ NBDHUB_STALL_FAIL_SECONDS: "600", NBDHUB_STALE_AFTER_SECONDS: "30" });
    expect(both.staleAfterSeconds).toBe(30);
  });

  it("refuses a fail time not above the stall time, naming the variable", () => {
    expect(() => parseConfig({ NBDHUB_STALL_SECONDS: "10", NBDHUB_STALL_FAIL_SECONDS: "10" })).toThrow(
      /NBDHUB_STALL_FAIL_SECONDS="10" is not valid: expected more seconds than NBDHUB_STALL_SECONDS \(10\)/,
    );
    expect(() => parseConfig({ NBDHUB_STALL_SECONDS: "0" })).toThrow(/NBDHUB_STALL_SECONDS="0" is not valid/);
  });
});
