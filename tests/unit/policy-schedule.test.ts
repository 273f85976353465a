// lib/policy/schedule.ts: cron schedules in a time zone, the next runs the console shows, and
// the one catch-up run for slots missed while the server was down.
import { describe, expect, it } from "vitest";
import { checkSchedule, dueSlot, nextRuns, ScheduleError, slotAt, slotsBetween } from "@/lib/policy/schedule";

const BERLIN = "Europe/Berlin";
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const at = (text: string) => new Date(text);

describe("checkSchedule", () => {
  it("accepts five fields, and six with seconds first", () => {
    expect(checkSchedule("30 2 * * *", BERLIN)).toEqual({ ok: true, fields: 5, hasSeconds: false });
    expect(checkSchedule("*/5 * * * * *", "UTC")).toEqual({ ok: true, fields: 6, hasSeconds: true });
    expect(checkSchedule("  0  0 1 JAN-MAR MON-FRI ", "America/New_York").ok).toBe(true);
  });

  it("names the field that is wrong, in a sentence, and every one of them", () => {
    const check = checkSchedule("61 25 * * *", BERLIN);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems.map((p) => p.field)).toEqual(["minute", "hour"]);
    expect(check.problems[0].message).toBe(
      'The minute field "61" is not valid: use 0-59, "*", a list (1,5), a range (1-5) or a step (*/5 or 1-30/5).',
    );
    expect(check.problems[1].message).toMatch(/^The hour field "25" is not valid: use 0-23/);
  });

  it.each([
    ["* * 32 * *", "day of month"],
    ["* * * 13 *", "month"],
    ["* * * * 8", "day of week"],
    ["*/0 * * * *", "minute"],
    ["1-70 * * * *", "minute"],
    ["x * * * *", "minute"],
    ["60 * * * * *", "second"],
  ])("refuses %s in the %s field", (expression, field) => {
    const check = checkSchedule(expression, "UTC");
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problems.map((p) => p.field)).toEqual([field]);
  });

  it("wants five or six fields, and no nicknames", () => {
    const four = checkSchedule("* * * *", "UTC");
    expect(four).toEqual({
      ok: false,
      problems: [
        {
          field: "schedule",
          message:
            "The schedule has 4 fields: write five (minute hour day-of-month month day-of-week), " +
            "or six with seconds first.",
        },
      ],
    });
    expect(checkSchedule("0 0 0 * * * 2030", "UTC").ok).toBe(false);
    expect(checkSchedule("", "UTC").ok).toBe(false);
    const nick = checkSchedule("@daily", "UTC");
    expect(nick.ok).toBe(false);
    if (!nick.ok) expect(nick.problems[0].message).toMatch(/Nicknames such as "@daily" are not accepted/);
  });

  it("refuses a schedule whose days never come", () => {
    const check = checkSchedule("0 0 30 2 *", "UTC");
    expect(check).toEqual({
      ok: false,
      problems: [{ field: "schedule", message: "The schedule never runs: its days and months never meet." }],
    });
  });

  it("refuses an unknown time zone, with the field problems too", () => {
    const check = checkSchedule("61 * * * *", "Mars/Olympus");
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems.map((p) => p.field)).toEqual(["time zone", "minute"]);
    expect(check.problems[0].message).toBe(
      'The time zone "Mars/Olympus" is not known: use an IANA name such as Europe/Berlin or UTC.',
    );
    expect(checkSchedule("* * * * *", "").ok).toBe(false);
  });

  it("throws ScheduleError with the same sentences from the functions that need a valid schedule", () => {
    expect(() => nextRuns("61 * * * *", "UTC", at("2025-01-01T00:00:00Z"), 5)).toThrow(ScheduleError);
    expect(() => nextRuns("61 * * * *", "UTC", at("2025-01-01T00:00:00Z"), 5)).toThrow(/The minute field "61"/);
    expect(() => dueSlot("* * * * *", "Nowhere/Else", at("2025-01-01T00:00:00Z"), at("2025-01-02T00:00:00Z"))).toThrow(
      /time zone "Nowhere\/Else" is not known/,
    );
  });
});

describe("nextRuns", () => {
  it("gives the next five runs after a time, in the policy's zone", () => {
    // 02:30 in Berlin is 01:30 UTC in winter.
    expect(iso(nextRuns("30 2 * * *", BERLIN, at("2025-01-10T12:00:00Z"), 5))).toEqual([
      "2025-01-11T01:30:00.000Z",
      "2025-01-12T01:30:00.000Z",
      "2025-01-13T01:30:00.000Z",
      "2025-01-14T01:30:00.000Z",
      "2025-01-15T01:30:00.000Z",
    ]);
  });

  it("runs a fixed-time job once, right after the gap, when spring forward removes its time", () => {
    // 2025-03-30 in Berlin: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
    expect(iso(nextRuns("30 2 * * *", BERLIN, at("2025-03-29T00:00:00Z"), 3))).toEqual([
      "2025-03-29T01:30:00.000Z", // 02:30 CET
      "2025-03-30T01:00:00.000Z", // 03:00 CEST, the first time after the gap
      "2025-03-31T00:30:00.000Z", // 02:30 CEST
    ]);
  });

  it("runs a fixed-time job once when fall back repeats its time", () => {
    // 2025-10-26 in Berlin: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    expect(iso(nextRuns("30 2 * * *", BERLIN, at("2025-10-25T00:00:00Z"), 3))).toEqual([
      "2025-10-25T00:30:00.000Z",
      "2025-10-26T00:30:00.000Z", // the first 02:30 (CEST) only
      "2025-10-27T01:30:00.000Z",
    ]);
  });

  it("runs an interval job on both passes of a repeated hour, and skips the missing one", () => {
    expect(iso(nextRuns("*/30 * * * *", BERLIN, at("2025-10-25T23:45:00Z"), 6))).toEqual([
      "2025-10-26T00:00:00.000Z", // 02:00 CEST
      "2025-10-26T00:30:00.000Z", // 02:30 CEST
      "2025-10-26T01:00:00.000Z", // 02:00 CET
      "2025-10-26T01:30:00.000Z", // 02:30 CET
      "2025-10-26T02:00:00.000Z", // 03:00 CET
      "2025-10-26T02:30:00.000Z",
    ]);
    expect(iso(nextRuns("*/30 * * * *", BERLIN, at("2025-03-30T00:15:00Z"), 3))).toEqual([
      "2025-03-30T00:30:00.000Z", // 01:30 CET
      "2025-03-30T01:00:00.000Z", // 03:00 CEST: 02:00 and 02:30 do not exist
      "2025-03-30T01:30:00.000Z",
    ]);
  });

  it("decides the day in the policy's zone, not the server's", () => {
    // Midnight on Mondays: Monday 00:00 in Tokyo is Sunday 15:00 UTC.
    expect(iso(nextRuns("0 0 * * MON", "Asia/Tokyo", at("2025-06-01T00:00:00Z"), 1))).toEqual([
      "2025-06-01T15:00:00.000Z",
    ]);
    expect(iso(nextRuns("0 0 * * MON", "UTC", at("2025-06-01T00:00:00Z"), 1))).toEqual(["2025-06-02T00:00:00.000Z"]);
  });

  it("handles seconds schedules, strictly after the time given", () => {
    expect(iso(nextRuns("*/5 * * * * *", "UTC", at("2025-01-01T00:00:10.000Z"), 3))).toEqual([
      "2025-01-01T00:00:15.000Z",
      "2025-01-01T00:00:20.000Z",
      "2025-01-01T00:00:25.000Z",
    ]);
    expect(iso(nextRuns("*/5 * * * * *", "UTC", at("2025-01-01T00:00:09.500Z"), 1))).toEqual([
      "2025-01-01T00:00:10.000Z",
    ]);
  });
});

describe("slotAt and slotsBetween", () => {
  it("slotAt is the latest slot at or before the time", () => {
    const e = "*/5 * * * * *";
    expect(slotAt(e, "UTC", at("2025-01-01T00:00:10.000Z"))?.toISOString()).toBe("2025-01-01T00:00:10.000Z");
    expect(slotAt(e, "UTC", at("2025-01-01T00:00:14.999Z"))?.toISOString()).toBe("2025-01-01T00:00:10.000Z");
    expect(slotAt("30 2 * * *", BERLIN, at("2025-03-30T12:00:00Z"))?.toISOString()).toBe("2025-03-30T01:00:00.000Z");
  });

  it("slotsBetween is exclusive of the start and inclusive of the end", () => {
    const slots = slotsBetween("*/5 * * * * *", "UTC", at("2025-01-01T00:00:00Z"), at("2025-01-01T00:00:20Z"));
    expect(iso(slots)).toEqual([
      "2025-01-01T00:00:05.000Z",
      "2025-01-01T00:00:10.000Z",
      "2025-01-01T00:00:15.000Z",
      "2025-01-01T00:00:20.000Z",
    ]);
    expect(slotsBetween("* * * * * *", "UTC", at("2025-01-01T00:00:00Z"), at("2025-01-02T00:00:00Z"), 3)).toHaveLength(
      3,
    );
  });

  it("slotsBetween across the fall-back night of an hourly job lists both 02:00s", () => {
    const slots = slotsBetween("0 * * * *", BERLIN, at("2025-10-25T23:30:00Z"), at("2025-10-26T02:30:00Z"));
    expect(iso(slots)).toEqual([
      "2025-10-26T00:00:00.000Z", // 02:00 CEST
      "2025-10-26T01:00:00.000Z", // 02:00 CET
      "2025-10-26T02:00:00.000Z", // 03:00 CET
    ]);
  });
});

describe("dueSlot", () => {
  const daily = "0 3 * * *";

  it("is null while no slot came after the last one handled", () => {
    expect(dueSlot(daily, BERLIN, at("2025-01-10T02:00:00Z"), at("2025-01-10T12:00:00Z"))).toBeNull();
    // The slot just handled is not due again, even a second later.
    expect(dueSlot("*/5 * * * * *", "UTC", at("2025-01-01T00:00:10Z"), at("2025-01-01T00:00:14.9Z"))).toBeNull();
  });

  it("gives the slot due now, at its very second", () => {
    expect(dueSlot("*/5 * * * * *", "UTC", at("2025-01-01T00:00:10Z"), at("2025-01-01T00:00:15Z"))).toEqual({
      slot: at("2025-01-01T00:00:15Z"),
      skipped: 0,
      skippedAtLeast: false,
    });
  });

  it("gives ONE catch-up run for slots missed while the server was down: the latest, and the count skipped", () => {
    // Last run on the 10th at 03:00 (02:00 UTC); the server was down until the 14th at noon:
    // the 11th, 12th, 13th and 14th were missed. One run, for the 14th; three skipped.
    const due = dueSlot(daily, BERLIN, at("2025-01-10T02:00:00Z"), at("2025-01-14T12:00:00Z"));
    expect(due).toEqual({ slot: at("2025-01-14T02:00:00Z"), skipped: 3, skippedAtLeast: false });
    // Once that slot is handled, nothing more is due until the next one.
    expect(dueSlot(daily, BERLIN, due!.slot, at("2025-01-14T12:00:00Z"))).toBeNull();
  });

  it("counts the missed slots of a seconds schedule up to a limit, then says 'at least'", () => {
    const due = dueSlot("* * * * * *", "UTC", at("2025-01-01T00:00:00Z"), at("2025-01-02T00:00:00Z"));
    expect(due).toEqual({ slot: at("2025-01-02T00:00:00Z"), skipped: 1_000, skippedAtLeast: true });
  });

  it("counts a repeated fall-back hour twice for an interval job, and the spring gap not at all", () => {
    const hourly = "0 * * * *";
    // Down from 01:00 CEST to 04:00 CET on 2025-10-26: 02:00 CEST, 02:00 CET, 03:00 CET skipped; 04:00 due.
    expect(dueSlot(hourly, BERLIN, at("2025-10-25T23:00:00Z"), at("2025-10-26T03:00:00Z"))).toEqual({
      slot: at("2025-10-26T03:00:00Z"),
      skipped: 3,
      skippedAtLeast: false,
    });
    // Down from 01:00 CET to 04:00 CEST on 2025-03-30: only 03:00 CEST skipped (02:00 never was).
    expect(dueSlot(hourly, BERLIN, at("2025-03-30T00:00:00Z"), at("2025-03-30T02:00:00Z"))).toEqual({
      slot: at("2025-03-30T02:00:00Z"),
      skipped: 1,
      skippedAtLeast: false,
    });
  });
});
