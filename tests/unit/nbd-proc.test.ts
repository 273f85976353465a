// Reading /proc: the stat line (field 22, the start time) and cmdline.
import { describe, expect, it } from "vitest";
import { isProcessAlive, parseCmdline, parseProcStat, readProcStat } from "@/lib/proc/stat";
import { lastLines } from "@/lib/nbd/qemu-nbd-process";

const QEMU_STAT =
  "8270 (qemu-nbd) S 8269 8258 6293 0 -1 4194560 466 0 2 0 0 1 0 0 20 0 3 0 106761 168783872 2018 18446744073709551615 94431389589504 94431390879605 140735065886320 0 0 0 268444224 4100 16387 0 0 0 17 0 0 0 0 0 0";

describe("/proc/PID/stat", () => {
  it("reads pid, state, ppid and field 22 (start time in clock ticks)", () => {
    expect(parseProcStat(QEMU_STAT)).toEqual({
      pid: 8270,
      comm: "qemu-nbd",
      state: "S",
      ppid: 8269,
      startTime: 106761n,
    });
  });

  it("counts fields from the last ')' so a comm with spaces or parentheses does not shift them", () => {
    const tricky = QEMU_STAT.replace("(qemu-nbd)", "(a) b (c))");
    expect(parseProcStat(tricky)).toMatchObject({ comm: "a) b (c)", state: "S", startTime: 106761n });
  });

  it("rejects what is not a stat line", () => {
    expect(parseProcStat("")).toBeNull();
    expect(parseProcStat("12 (x) S 1 2")).toBeNull();
  });

  it("reads this very process, and a pid that does not exist is not alive", async () => {
    const self = await readProcStat(process.pid);
    expect(self?.pid).toBe(process.pid);
    expect(await isProcessAlive(process.pid, self!.startTime)).toBe(true);
    expect(await isProcessAlive(process.pid, self!.startTime + 1n)).toBe(false);
    expect(await isProcessAlive(2 ** 22 + 1)).toBe(false);
  });
});

describe("/proc/PID/cmdline", () => {
  it("splits on NUL and drops the trailing one, keeping empty arguments in the middle", () => {
    expect(parseCmdline(Buffer.from("qemu-nbd\0--port=1\0\0file\0"))).toEqual(["qemu-nbd", "--port=1", "", "file"]);
    expect(parseCmdline("")).toEqual([]);
  });
});

describe("stderr tail", () => {
  it("keeps the last lines, without blank ones", () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i}`).join("\n") + "\n\n";
    expect(lastLines(text, 3)).toBe("line 27\nline 28\nline 29");
  });
});
