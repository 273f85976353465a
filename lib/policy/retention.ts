// Retention of backup points by keep-last, keep-daily, keep-weekly and keep-monthly, with the
// semantics of Proxmox Backup Server's prune (pbs-datastore/src/prune.rs, compute_prune_info
// and mark_selections), so that what operators know from PBS and its prune simulator holds:
// - Points are taken newest first. The rules run in the order keep-last, keep-daily,
//   keep-weekly, keep-monthly; each marks points, and a point once marked is never looked at
//   again by a later rule.
// - A rule keeps the newest point of each of its periods (day, ISO week Monday-Sunday, month,
//   in the policy's time zone; keep-last: each point is its own period) for its first N
//   periods that have a point, and marks the older points of those periods as removed.
//   Periods without points do not count.
// - A period that already holds a point kept by an earlier rule is covered: the later rule
//   skips it and does not count it ("the next option does not take care of already covered
//   backups; it will only consider older backups").
// - Protected points (under restore, ...) are kept, never selected by a rule and never counted.
// - No rule (or all of them 0) keeps everything, as PBS's prune does without keep options.
// Pure: no clock, no I/O.

export type RetentionRules = {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
};

export type RetentionPoint = { jobId: string; time: Date };

export type ProtectedPoint = { jobId: string; reason: string };

export type RetentionDecision = { jobId: string; keep: boolean; reasons: string[] };

export const NOT_SELECTED = "not selected by any rule";
export const KEEP_ALL = "no retention rule: every point is kept";

type RuleName = "keep-last" | "keep-daily" | "keep-weekly" | "keep-monthly";

type Rule = { name: RuleName; count: number; periodOf: (point: RetentionPoint, index: number) => string };

type Mark = { kind: "keep"; reason: string } | { kind: "remove"; reason: string } | { kind: "protected" };

/** Year, month and day of an instant on the calendar of a time zone. */
export function localDate(time: Date, timeZone: string): { year: number; month: number; day: number } {
  const parts = formatterOf(timeZone).formatToParts(time);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: part("year"), month: part("month"), day: part("day") };
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** ISO 8601 week of a calendar date: weeks start on Monday; week 1 holds the year's first Thursday. */
export function isoWeek(year: number, month: number, day: number): { weekYear: number; week: number } {
  const DAY = 86_400_000;
  const date = Date.UTC(year, month - 1, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = date + (3 - weekday) * DAY;
  const weekYear = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(weekYear, 0, 1)) / (7 * DAY));
  return { weekYear, week };
}

function rulesOf(rules: RetentionRules, timeZone: string): Rule[] {
  const day = (p: RetentionPoint) => localDate(p.time, timeZone);
  const month = (d: { year: number; month: number }) => `${pad(d.year, 4)}-${pad(d.month)}`;
  const date = (d: { year: number; month: number; day: number }) => `${month(d)}-${pad(d.day)}`;
  const week = (d: { year: number; month: number; day: number }) => {
    const w = isoWeek(d.year, d.month, d.day);
    return `${pad(w.weekYear, 4)}-W${pad(w.week)}`;
  };
  // In the order the rules are applied (the order the prune plan's reasons name them).
  const periods: Array<[keyof RetentionRules, RuleName, Rule["periodOf"]]> = [
    ["keepLast", "keep-last", (_p, i) => String(i + 1)],
    ["keepDaily", "keep-daily", (p) => date(day(p))],
    ["keepWeekly", "keep-weekly", (p) => week(day(p))],
    ["keepMonthly", "keep-monthly", (p) => month(day(p))],
  ];
  const out: Rule[] = [];
  for (const [field, name, periodOf] of periods) {
    const value = rules[field];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`${field} must be a whole number, 0 or more (it is ${value})`);
    }
    out.push({ name, count: value, periodOf });
  }
  return out;
}

function assertValid(points: readonly RetentionPoint[], timeZone: string): void {
  try {
    formatterOf(timeZone);
  } catch {
    throw new RangeError(`the time zone "${timeZone}" is not known: use an IANA name such as Europe/Berlin or UTC`);
  }
  const seen = new Set<string>();
  for (const point of points) {
    if (seen.has(point.jobId)) throw new RangeError(`the point ${point.jobId} is listed twice`);
    seen.add(point.jobId);
    if (!(point.time instanceof Date) || Number.isNaN(point.time.getTime())) {
      throw new RangeError(`the point ${point.jobId} has no valid time`);
    }
  }
}

/** Newest first; points of the same instant in a fixed order (by job id) so results repeat. */
function newestFirst(points: readonly RetentionPoint[]): RetentionPoint[] {
  return [...points].sort((a, b) => b.time.getTime() - a.time.getTime() || (a.jobId < b.jobId ? 1 : -1));
}

/**
 * Which points to keep and why, newest first. Kept points list the rule that selected them
 * first ("keep-daily 2025-11-29"; keep-last says which of the last it is: "keep-last 2"), then
 * the periods of later rules they stand for ("also keep-weekly 2025-W48": the later rule counts
 * that period as covered by this point and skips it). Protected points are kept with
 * "protected: <reason>". Removed points say "not selected by any rule", and when a rule chose a
 * newer point of the same period, which one.
 */
export function decideRetention(
  points: readonly RetentionPoint[],
  rules: RetentionRules,
  options: { timeZone: string; protected?: readonly ProtectedPoint[] },
): RetentionDecision[] {
  assertValid(points, options.timeZone);
  const activeRules = rulesOf(rules, options.timeZone);
  const list = newestFirst(points);
  const protectedReasons = new Map<string, string[]>();
  for (const p of options.protected ?? []) {
    protectedReasons.set(p.jobId, [...(protectedReasons.get(p.jobId) ?? []), `protected: ${p.reason}`]);
  }
  const keepsSomething = activeRules.some((r) => r.count > 0);
  if (!keepsSomething) {
    return list.map((p) => ({ jobId: p.jobId, keep: true, reasons: protectedReasons.get(p.jobId) ?? [KEEP_ALL] }));
  }

  const position = new Map(list.map((p, i) => [p.jobId, i]));
  const marks = new Map<string, Mark>();
  const also = new Map<string, string[]>();
  for (const rule of activeRules) {
    const periodOf = (p: RetentionPoint) => rule.periodOf(p, position.get(p.jobId) ?? 0);
    // Periods already covered by a point an earlier rule kept; the newest such point stands for it.
    const covered = new Map<string, string>();
    for (const p of list) {
      if (marks.get(p.jobId)?.kind !== "keep") continue;
      const period = periodOf(p);
      if (!covered.has(period)) covered.set(period, p.jobId);
    }
    if (rule.count > 0) {
      for (const [period, jobId] of covered) {
        also.set(jobId, [...(also.get(jobId) ?? []), `also ${rule.name} ${period}`]);
      }
    }
    const included = new Map<string, string>();
    let selected = 0;
    for (const p of list) {
      if (marks.has(p.jobId)) continue;
      if (protectedReasons.has(p.jobId)) {
        marks.set(p.jobId, { kind: "protected" });
        continue;
      }
      const period = periodOf(p);
      if (covered.has(period)) continue;
      const keeper = included.get(period);
      if (keeper === undefined) {
        if (included.size >= rule.count) break;
        included.set(period, p.jobId);
        selected += 1;
        const label = rule.name === "keep-last" ? String(selected) : period;
        marks.set(p.jobId, { kind: "keep", reason: `${rule.name} ${label}` });
      } else {
        const reason = `${NOT_SELECTED} (${rule.name} keeps the newer ${keeper} for ${period})`;
        marks.set(p.jobId, { kind: "remove", reason });
      }
    }
  }

  return list.map((p) => {
    const protectedWhy = protectedReasons.get(p.jobId);
    if (protectedWhy) return { jobId: p.jobId, keep: true, reasons: protectedWhy };
    const mark = marks.get(p.jobId);
    if (mark?.kind === "keep") {
      return { jobId: p.jobId, keep: true, reasons: [mark.reason, ...(also.get(p.jobId) ?? [])] };
    }
    return { jobId: p.jobId, keep: false, reasons: [mark?.kind === "remove" ? mark.reason : NOT_SELECTED] };
  });
}
