import { describe, expect, it } from "vitest";
import { formatBytes, formatRate } from "@/lib/format";
import { firstLineOf, messageOf } from "@/lib/messages";

describe("formatBytes: one rounding for the console and the server's event messages", () => {
  it("shows bytes below 1 KiB as they are", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1023)).toBe("1023 B");
  });

  it("keeps three significant digits in binary units", () => {
    expect(formatBytes(1024)).toBe("1.00 KiB");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(15 * 1024 ** 2)).toBe("15.0 MiB");
    expect(formatBytes(150 * 1024 ** 3)).toBe("150 GiB");
    expect(formatBytes(1024 ** 3)).toBe("1.00 GiB");
    expect(formatBytes(2 * 1024 ** 4)).toBe("2.00 TiB");
    expect(formatBytes(3 * 1024 ** 5)).toBe("3.00 PiB");
  });

  it("says an unknown size is unknown", () => {
    expect(formatBytes(null)).toBe("—");
    expect(formatBytes(undefined)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
    expect(formatBytes(Number.POSITIVE_INFINITY)).toBe("—");
  });
});

describe("formatRate", () => {
  it("rounds to whole bytes per second and shows no rate as a dash", () => {
    expect(formatRate(1536.4)).toBe("1.50 KiB/s");
    expect(formatRate(100.6)).toBe("101 B/s");
    expect(formatRate(0)).toBe("—");
    expect(formatRate(-5)).toBe("—");
    expect(formatRate(null)).toBe("—");
  });
});

describe("messageOf and firstLineOf", () => {
  it("take an Error's message, never its stack", () => {
    const error = new Error("the database is gone");
    expect(messageOf(error)).toBe("the database is gone");
    expect(messageOf(error)).not.toContain("at ");
  });

  it("turn anything else thrown into a string", () => {
    expect(messageOf("plain words")).toBe("plain words");
    expect(messageOf(42)).toBe("42");
    expect(messageOf(undefined)).toBe("undefined");
    expect(messageOf({ toString: () => "an object" })).toBe("an object");
  });

  it("keep the first line of a driver's multi-line report", () => {
    expect(firstLineOf(new Error("connect ECONNREFUSED 127.0.0.1:5432\n  at TCPConnectWrap\n  query: SELECT 1"))).toBe(
      "connect ECONNREFUSED 127.0.0.1:5432",
    );
    expect(firstLineOf("one\ntwo")).toBe("one");
  });
});
