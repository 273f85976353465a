// nbdhub-client's progress lines and bar, its tables (lib/cli/progress.ts, table.ts): pure.
import { describe, expect, it } from "vitest";
import { formatEta, percentOf, progressBar, progressLine, ProgressView } from "@/lib/cli/progress";
import { formatTable, shortTime } from "@/lib/cli/table";

const MiB = 1024 * 1024;

describe("progress formatting", () => {
  it("says percent, bytes, rate and time left on one line", () => {
    expect(progressLine({ label: "disk0", done: 16 * MiB, total: 64 * MiB, rate: 8 * MiB })).toBe(
      "disk0: 25% 16.0 MiB of 64.0 MiB, 8.00 MiB/s, eta 6s",
    );
    expect(progressLine({ label: "disk0", done: 64 * MiB, total: 64 * MiB, rate: 8 * MiB })).toBe(
      "disk0: 100% 64.0 MiB of 64.0 MiB",
    );
    expect(progressLine({ label: "d", done: 0, total: MiB, rate: 0 })).toBe("d: 0% 0 B of 1.00 MiB, —, eta —");
  });

  it("never says 100 % before the end", () => {
    expect(percentOf(999, 1000)).toBe(99);
    expect(percentOf(1000, 1000)).toBe(100);
    expect(percentOf(0, 0)).toBe(100);
  });

  it("writes time left as a person reads it", () => {
    expect(formatEta(42)).toBe("42s");
    expect(formatEta(185)).toBe("3m05s");
    expect(formatEta(3720)).toBe("1h02m");
    expect(formatEta(null)).toBe("—");
  });

  it("fits the bar to the terminal", () => {
    const bar = progressBar({ label: "disk0", done: 32 * MiB, total: 64 * MiB, rate: 4 * MiB }, 80);
    expect(bar).toMatch(/^disk0 \[#+\.+\]  50% 32\.0 MiB\/64\.0 MiB 4\.00 MiB\/s 8s$/);
    expect(bar.length).toBeLessThan(80);
    expect(progressBar({ label: "disk0", done: 0, total: MiB, rate: 0 }, 20).length).toBeLessThan(20);
  });

  it("draws in place on a terminal and plain lines elsewhere", () => {
    const lines: string[] = [];
    const plain = new ProgressView({ isTTY: false, write: (t: string) => lines.push(t) }, "disk0", MiB);
    plain.update(MiB / 2);
    plain.update(MiB / 2 + 1); // within the second: not drawn
    plain.end(MiB);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe("disk0: 100% 1.00 MiB of 1.00 MiB\n");
    const drawn: string[] = [];
    const tty = new ProgressView({ isTTY: true, columns: 80, write: (t: string) => drawn.push(t) }, "disk0", MiB);
    tty.end(MiB);
    expect(drawn[0].startsWith("\r\x1b[K")).toBe(true);
    expect(drawn.at(-1)).toBe("\n");
  });
});

describe("tables", () => {
  it("pads columns to the widest cell", () => {
    expect(
      formatTable(
        ["ID", "VM"],
        [
          ["a", "web01"],
          ["bbbb", "db"],
        ],
      ),
    ).toBe("ID    VM\na     web01\nbbbb  db");
    expect(shortTime("2026-05-04T10:22:31.123Z")).toBe("2026-05-04 10:22:31");
  });
});
