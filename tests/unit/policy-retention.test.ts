// lib/policy/retention.ts: keep-last/daily/weekly/monthly with Proxmox Backup Server's semantics.
// The first cases are PBS's own (tests/prune.rs of proxmox-backup, in UTC), then the prune
// simulator's documented week-across-months case, time zones, ISO weeks, reasons, properties.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decideRetention,
  isoWeek,
  KEEP_ALL,
  NOT_SELECTED,
  type RetentionPoint,
  type RetentionRules,
} from "@/lib/policy/retention";

const points = (...times: string[]): RetentionPoint[] => times.map((t) => ({ jobId: t, time: new Date(t) }));
/** The kept (or removed) job ids, oldest first, as PBS's tests list them. */
function ids(list: RetentionPoint[], rules: RetentionRules, kept: boolean, timeZone = "UTC"): string[] {
  return decideRetention(list, rules, { timeZone })
    .filter((d) => d.keep === kept)
    .map((d) => d.jobId)
    .reverse();
}

describe("PBS's examples (tests/prune.rs)", () => {
  const simple = points("2019-12-02T11:59:15Z", "2019-12-03T11:59:15Z", "2019-12-04T11:59:15Z", "2019-12-04T12:59:15Z");

  it("keep-last", () => {
    expect(ids(simple, { keepLast: 4 }, false)).toEqual([]);
    expect(ids(simple, { keepLast: 3 }, false)).toEqual(["2019-12-02T11:59:15Z"]);
    expect(ids(simple, { keepLast: 2 }, false)).toEqual(["2019-12-02T11:59:15Z", "2019-12-03T11:59:15Z"]);
    expect(ids(simple, { keepLast: 1 }, false)).toEqual([
      "2019-12-02T11:59:15Z",
      "2019-12-03T11:59:15Z",
      "2019-12-04T11:59:15Z",
    ]);
  });

  it("keep-last 0 alone keeps nothing selected, so everything is kept (PBS keeps all without a rule)", () => {
    // PBS's compute_prune_info removes all four with keep-last 0; its prune command first
    // checks keeps_something() and keeps everything when no rule keeps anything. A policy is
    // what runs here, so the safe reading wins.
    expect(ids(simple, { keepLast: 0 }, false)).toEqual([]);
    expect(decideRetention(simple, { keepLast: 0 }, { timeZone: "UTC" })[0].reasons).toEqual([KEEP_ALL]);
  });

  it("keep-last and keep-daily mixed", () => {
    expect(ids(simple, { keepLast: 2, keepDaily: 2 }, false)).toEqual([]);
  });

  it("keep-daily", () => {
    expect(ids(simple, { keepDaily: 3 }, false)).toEqual(["2019-12-04T11:59:15Z"]);
    expect(ids(simple, { keepDaily: 2 }, false)).toEqual(["2019-12-02T11:59:15Z", "2019-12-04T11:59:15Z"]);
  });

  it("keep-weekly, keep-monthly, and combinations within one week keep a single point", () => {
    const three = ["2019-12-02T11:59:15Z", "2019-12-03T11:59:15Z", "2019-12-04T11:59:15Z"];
    expect(ids(simple, { keepWeekly: 5 }, false)).toEqual(three);
    expect(ids(simple, { keepDaily: 1, keepWeekly: 5 }, false)).toEqual(three);
    expect(ids(simple, { keepMonthly: 6 }, false)).toEqual(three);
  });

  const simple2 = points(
    "2018-11-15T11:59:15Z",
    "2019-11-15T11:59:15Z",
    "2019-11-21T11:59:15Z",
    "2019-11-22T11:59:15Z",
    "2019-11-29T11:59:15Z",
    "2019-12-01T11:59:15Z",
    "2019-12-02T11:59:15Z",
    "2019-12-03T11:59:15Z",
    "2019-12-04T11:59:15Z",
  );

  it("simple2: daily, last+daily, daily+weekly, daily+weekly+monthly", () => {
    expect(ids(simple2, { keepDaily: 1 }, true)).toEqual(["2019-12-04T11:59:15Z"]);
    expect(ids(simple2, { keepLast: 1, keepDaily: 1 }, true)).toEqual(["2019-12-03T11:59:15Z", "2019-12-04T11:59:15Z"]);
    expect(ids(simple2, { keepDaily: 1, keepWeekly: 1 }, true)).toEqual([
      "2019-12-01T11:59:15Z",
      "2019-12-04T11:59:15Z",
    ]);
    expect(ids(simple2, { keepDaily: 1, keepWeekly: 1, keepMonthly: 1 }, true)).toEqual([
      "2019-11-22T11:59:15Z",
      "2019-12-01T11:59:15Z",
      "2019-12-04T11:59:15Z",
    ]);
  });
});

describe("PBS's semantics beyond its tests", () => {
  // The prune simulator's documentation: a week kept by keep-weekly is not looked at again by
  // keep-monthly, even the days of it that are in the month before.
  it("a week kept by keep-weekly is skipped by keep-monthly, even its days in the month before", () => {
    // ISO week 2020-W01 runs from Monday 2019-12-30 to Sunday 2020-01-05.
    const list = points("2019-12-20T10:00:00Z", "2019-12-31T10:00:00Z", "2020-01-02T10:00:00Z");
    const decisions = decideRetention(list, { keepWeekly: 1, keepMonthly: 2 }, { timeZone: "UTC" });
    expect(decisions).toEqual([
      { jobId: "2020-01-02T10:00:00Z", keep: true, reasons: ["keep-weekly 2020-W01", "also keep-monthly 2020-01"] },
      {
        jobId: "2019-12-31T10:00:00Z",
        keep: false,
        reasons: [`${NOT_SELECTED} (keep-weekly keeps the newer 2020-01-02T10:00:00Z for 2020-W01)`],
      },
      // December is a new month for keep-monthly: its newest point not yet marked is the 20th.
      { jobId: "2019-12-20T10:00:00Z", keep: true, reasons: ["keep-monthly 2019-12"] },
    ]);
  });

  it("covered periods do not count: keep-last 2 on one day, then keep-daily 2 keeps two more days", () => {
    const list = points(
      "2025-11-27T08:00:00Z",
      "2025-11-28T08:00:00Z",
      "2025-11-29T08:00:00Z",
      "2025-11-29T20:00:00Z",
      "2025-11-29T22:00:00Z",
    );
    expect(decideRetention(list, { keepLast: 2, keepDaily: 2 }, { timeZone: "UTC" })).toEqual([
      { jobId: "2025-11-29T22:00:00Z", keep: true, reasons: ["keep-last 1", "also keep-daily 2025-11-29"] },
      { jobId: "2025-11-29T20:00:00Z", keep: true, reasons: ["keep-last 2"] },
      // The 29th is covered by keep-last: keep-daily skips its older point without marking it.
      { jobId: "2025-11-29T08:00:00Z", keep: false, reasons: [NOT_SELECTED] },
      { jobId: "2025-11-28T08:00:00Z", keep: true, reasons: ["keep-daily 2025-11-28"] },
      { jobId: "2025-11-27T08:00:00Z", keep: true, reasons: ["keep-daily 2025-11-27"] },
    ]);
  });

  it("days, weeks and months are those of the policy's time zone", () => {
    // 23:30 UTC on the 30th of November is 00:30 on 1 December in Berlin.
    const list = points("2025-11-30T23:30:00Z", "2025-11-30T10:00:00Z");
    expect(ids(list, { keepDaily: 2 }, true, "UTC")).toEqual(["2025-11-30T23:30:00Z"]);
    expect(ids(list, { keepDaily: 2 }, true, "Europe/Berlin")).toEqual([
      "2025-11-30T10:00:00Z",
      "2025-11-30T23:30:00Z",
    ]);
    expect(decideRetention(list, { keepMonthly: 5 }, { timeZone: "Europe/Berlin" })[0].reasons).toEqual([
      "keep-monthly 2025-12",
    ]);
    // Sunday 30 November 23:30 UTC is Monday in Berlin: a new ISO week there.
    expect(decideRetention(list, { keepWeekly: 5 }, { timeZone: "Europe/Berlin" }).map((d) => d.reasons[0])).toEqual([
      "keep-weekly 2025-W49",
      "keep-weekly 2025-W48",
    ]);
    // A Berlin day lasts 25 hours when the clocks go back: 00:30 CEST and 23:30 CET of 26 October
    // (22:30 UTC the day before, and 22:30 UTC) are one day there, two days in UTC.
    const dst = points("2025-10-25T22:30:00Z", "2025-10-26T22:30:00Z");
    expect(ids(dst, { keepDaily: 5 }, true, "Europe/Berlin")).toEqual(["2025-10-26T22:30:00Z"]);
    expect(ids(dst, { keepDaily: 5 }, true, "UTC")).toEqual(["2025-10-25T22:30:00Z", "2025-10-26T22:30:00Z"]);
  });

  it("ISO weeks at the turn of the year", () => {
    expect(isoWeek(2019, 12, 30)).toEqual({ weekYear: 2020, week: 1 });
    expect(isoWeek(2020, 12, 31)).toEqual({ weekYear: 2020, week: 53 });
    expect(isoWeek(2021, 1, 3)).toEqual({ weekYear: 2020, week: 53 });
    expect(isoWeek(2021, 1, 4)).toEqual({ weekYear: 2021, week: 1 });
    expect(isoWeek(2025, 11, 29)).toEqual({ weekYear: 2025, week: 48 });
    // Sunday ends the week, Monday starts the next.
    expect(isoWeek(2025, 11, 30)).toEqual({ weekYear: 2025, week: 48 });
    expect(isoWeek(2025, 12, 1)).toEqual({ weekYear: 2025, week: 49 });
  });

  it("protected points are kept with their reason, never counted by a rule", () => {
    const list = points("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z");
    const decisions = decideRetention(
      list,
      { keepLast: 1 },
      {
        timeZone: "UTC",
        protected: [
          { jobId: "2025-01-04T00:00:00Z", reason: "under restore" },
          { jobId: "2025-01-01T00:00:00Z", reason: "under restore" },
          { jobId: "2025-01-01T00:00:00Z", reason: "exported" },
        ],
      },
    );
    expect(decisions).toEqual([
      { jobId: "2025-01-04T00:00:00Z", keep: true, reasons: ["protected: under restore"] },
      { jobId: "2025-01-03T00:00:00Z", keep: true, reasons: ["keep-last 1"] },
      { jobId: "2025-01-02T00:00:00Z", keep: false, reasons: [NOT_SELECTED] },
      { jobId: "2025-01-01T00:00:00Z", keep: true, reasons: ["protected: under restore", "protected: exported"] },
    ]);
  });

  it("no rule keeps everything; protected points still say why", () => {
    const list = points("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");
    const protectedPoints = [{ jobId: "2025-01-01T00:00:00Z", reason: "x" }];
    expect(decideRetention(list, {}, { timeZone: "UTC", protected: protectedPoints })).toEqual([
      { jobId: "2025-01-02T00:00:00Z", keep: true, reasons: [KEEP_ALL] },
      { jobId: "2025-01-01T00:00:00Z", keep: true, reasons: ["protected: x"] },
    ]);
    expect(decideRetention([], { keepLast: 3 }, { timeZone: "UTC" })).toEqual([]);
  });

  it("refuses bad input with a sentence naming it", () => {
    const list = points("2025-01-01T00:00:00Z");
    const utc = { timeZone: "UTC" };
    expect(() => decideRetention(list, { keepLast: -1 }, utc)).toThrow(
      "keepLast must be a whole number, 0 or more (it is -1)",
    );
    expect(() => decideRetention(list, { keepDaily: 1.5 }, utc)).toThrow(/keepDaily must be a whole number/);
    expect(() => decideRetention(list, { keepLast: 1 }, { timeZone: "Mars/Olympus" })).toThrow(
      /time zone "Mars\/Olympus" is not known/,
    );
    expect(() => decideRetention([...list, ...list], { keepLast: 1 }, { timeZone: "UTC" })).toThrow(/listed twice/);
    const noTime = [{ jobId: "a", time: new Date("nope") }];
    expect(() => decideRetention(noTime, { keepLast: 1 }, utc)).toThrow(/no valid time/);
  });
});

describe("properties", () => {
  const START = Date.UTC(2024, 0, 1);
  const arbPoints = fc
    .uniqueArray(fc.integer({ min: 0, max: 400 * 24 }), { minLength: 0, maxLength: 40 })
    .map((hours) => hours.map((h, i) => ({ jobId: `job-${i}`, time: new Date(START + h * 3_600_000) })));
  const count = fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined });
  const arbRules = fc.record({ keepLast: count, keepDaily: count, keepWeekly: count, keepMonthly: count });
  const arbZone = fc.constantFrom("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata");
  const arbCase = fc
    .tuple(arbPoints, arbRules, arbZone)
    .chain(([list, rules, timeZone]) =>
      fc.tuple(fc.constant(list), fc.constant(rules), fc.constant(timeZone), fc.subarray(list.map((p) => p.jobId))),
    );

  it("keep-last N always keeps the N newest points", () => {
    fc.assert(
      fc.property(arbCase, ([list, rules, timeZone]) => {
        const decisions = decideRetention(list, rules, { timeZone });
        const n = rules.keepLast ?? 0;
        expect(decisions.slice(0, n).every((d) => d.keep)).toBe(true);
      }),
    );
  });

  it("pruning the kept set again removes nothing (idempotence)", () => {
    fc.assert(
      fc.property(arbCase, ([list, rules, timeZone, prot]) => {
        const protectedPoints = prot.map((jobId) => ({ jobId, reason: "under restore" }));
        const options = { timeZone, protected: protectedPoints };
        const kept = new Set(
          decideRetention(list, rules, options)
            .filter((d) => d.keep)
            .map((d) => d.jobId),
        );
        const again = decideRetention(
          list.filter((p) => kept.has(p.jobId)),
          rules,
          options,
        );
        expect(again.filter((d) => !d.keep)).toEqual([]);
      }),
    );
  });

  it("protected points are always kept; the newest point is kept whenever a rule keeps anything", () => {
    fc.assert(
      fc.property(arbCase, ([list, rules, timeZone, prot]) => {
        const protectedPoints = prot.map((jobId) => ({ jobId, reason: "r" }));
        const decisions = decideRetention(list, rules, { timeZone, protected: protectedPoints });
        for (const jobId of prot) expect(decisions.find((d) => d.jobId === jobId)?.keep).toBe(true);
        if (decisions.length > 0) expect(decisions[0].keep).toBe(true);
        for (const d of decisions) {
          expect(d.reasons.length).toBeGreaterThan(0);
          if (!d.keep) expect(d.reasons[0].startsWith(NOT_SELECTED)).toBe(true);
        }
      }),
    );
  });

  it("each rule keeps at most N points of its own, one per period", () => {
    fc.assert(
      fc.property(arbCase, ([list, rules, timeZone]) => {
        const decisions = decideRetention(list, rules, { timeZone });
        const first = decisions.filter((d) => d.keep).map((d) => d.reasons[0]);
        for (const [name, n] of [
          ["keep-last", rules.keepLast],
          ["keep-daily", rules.keepDaily],
          ["keep-weekly", rules.keepWeekly],
          ["keep-monthly", rules.keepMonthly],
        ] as const) {
          const own = first.filter((r) => r.startsWith(`${name} `));
          if (first.length > 0 && first[0] !== KEEP_ALL) expect(own.length).toBeLessThanOrEqual(n ?? 0);
          expect(new Set(own).size).toBe(own.length);
        }
      }),
    );
  });
});
