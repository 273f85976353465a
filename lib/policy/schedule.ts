// Cron schedules of backup policies: parse and validate an expression (five fields, or six
// with seconds first) in an IANA time zone, list the next run times, and find the slot that is
// due. Pure (no clock of its own: every function takes the times it needs), so the console can
// show the next runs as an operator types and the runner can decide what to run after a restart.
//
// croner does the calendar work, DST included, the way Vixie cron does it (croner's README):
// a fixed-time job (one value each in seconds, minutes, hours) whose time falls into the
// spring-forward gap runs right after the gap, the same day, and once only when its time occurs
// twice at fall-back; an interval job (wildcard, step, range or list there) skips times in the
// gap and runs on both occurrences of a repeated time. Day of month and day of week combine
// with OR, as in Vixie cron (`+` before the day of week asks for AND).
import { Cron } from "croner";

export type ScheduleProblem = { field: string; message: string };

export type ScheduleCheck =
  { ok: true; fields: 5 | 6; hasSeconds: boolean } | { ok: false; problems: ScheduleProblem[] };

export class ScheduleError extends Error {
  readonly problems: ScheduleProblem[];
  constructor(problems: ScheduleProblem[]) {
    super(problems.map((p) => p.message).join(" "));
    this.name = "ScheduleError";
    this.problems = problems;
  }
}

type FieldRule = { name: string; probe: (value: string) => string; allowed: string };

// Each field is checked alone, inside a pattern that is otherwise all wildcards, so that the
// sentence names the field that is wrong (croner's own messages name its internal part, and
// stop at the first problem).
const SECOND: FieldRule = { name: "second", probe: (v) => `${v} * * * * *`, allowed: "0-59" };
const FIVE_FIELDS: FieldRule[] = [
  { name: "minute", probe: (v) => `0 ${v} * * * *`, allowed: "0-59" },
  { name: "hour", probe: (v) => `0 * ${v} * * *`, allowed: "0-23" },
  { name: "day of month", probe: (v) => `0 * * ${v} * *`, allowed: "1-31, L (last day) or W (nearest weekday)" },
  { name: "month", probe: (v) => `0 * * * ${v} *`, allowed: "1-12 or JAN-DEC" },
  { name: "day of week", probe: (v) => `0 * * * * ${v}`, allowed: "0-7 (0 and 7 are Sunday) or SUN-SAT" },
];

const CRON_OPTIONS = { mode: "5-or-6-parts", paused: true } as const;

function splitFields(expression: string): string[] {
  return expression.trim().split(/\s+/).filter(Boolean);
}

/** True when `timeZone` is an IANA zone name (or UTC) this runtime knows. */
export function isKnownTimeZone(timeZone: string): boolean {
  if (!timeZone.trim()) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone }).format(0);
    return true;
  } catch {
    return false;
  }
}

function timeZoneProblem(timeZone: string): ScheduleProblem | null {
  if (isKnownTimeZone(timeZone)) return null;
  return {
    field: "time zone",
    message: `The time zone "${timeZone}" is not known: use an IANA name such as Europe/Berlin or UTC.`,
  };
}

function fieldProblem(rule: FieldRule, value: string): ScheduleProblem | null {
  try {
    new Cron(rule.probe(value), CRON_OPTIONS);
    return null;
  } catch {
    return {
      field: rule.name,
      message:
        `The ${rule.name} field "${value}" is not valid: use ${rule.allowed}, "*", a list (1,5), ` +
        `a range (1-5) or a step (*/5 or 1-30/5).`,
    };
  }
}

/** Every problem of the expression and the time zone, as sentences naming their field. */
export function checkSchedule(expression: string, timeZone: string): ScheduleCheck {
  const problems: ScheduleProblem[] = [];
  const tzProblem = timeZoneProblem(timeZone);
  if (tzProblem) problems.push(tzProblem);

  const fields = splitFields(expression);
  if (fields.length === 1 && fields[0].startsWith("@")) {
    problems.push({
      field: "schedule",
      message:
        `Nicknames such as "${fields[0]}" are not accepted: write the fields, ` +
        `for instance "0 0 * * *" for every day at midnight.`,
    });
    return { ok: false, problems };
  }
  if (fields.length !== 5 && fields.length !== 6) {
    problems.push({
      field: "schedule",
      message:
        `The schedule has ${fields.length} field${fields.length === 1 ? "" : "s"}: write five ` +
        `(minute hour day-of-month month day-of-week), or six with seconds first.`,
    });
    return { ok: false, problems };
  }
  const rules = fields.length === 6 ? [SECOND, ...FIVE_FIELDS] : FIVE_FIELDS;
  rules.forEach((rule, i) => {
    const problem = fieldProblem(rule, fields[i]);
    if (problem) problems.push(problem);
  });
  if (problems.length > 0) return { ok: false, problems };

  // Fields that are each valid can still never meet (30 February): croner then finds no run.
  let cron: Cron;
  try {
    cron = new Cron(fields.join(" "), CRON_OPTIONS);
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^CronPattern:\s*/, "") : String(error);
    return { ok: false, problems: [{ field: "schedule", message: `The schedule is not valid: ${detail}.` }] };
  }
  if (cron.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) {
    problems.push({ field: "schedule", message: "The schedule never runs: its days and months never meet." });
    return { ok: false, problems };
  }
  return fields.length === 6 ? { ok: true, fields: 6, hasSeconds: true } : { ok: true, fields: 5, hasSeconds: false };
}

/** A croner instance for a valid schedule (throws ScheduleError with every problem otherwise). */
function cronOf(expression: string, timeZone: string): Cron {
  const check = checkSchedule(expression, timeZone);
  if (!check.ok) throw new ScheduleError(check.problems);
  return new Cron(splitFields(expression).join(" "), { ...CRON_OPTIONS, timezone: timeZone });
}

/** The next `n` run times strictly after `from`. */
export function nextRuns(expression: string, timeZone: string, from: Date, n: number): Date[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError("n must be a whole number, 0 or more");
  return cronOf(expression, timeZone).nextRuns(n, from);
}

/** Whole seconds: croner works in seconds, and a slot is identified by its second. */
function floorToSecond(at: Date): number {
  return Math.floor(at.getTime() / 1000) * 1000;
}

/** The latest slot at or before `at`, or null when the schedule had none before it. */
export function slotAt(expression: string, timeZone: string, at: Date): Date | null {
  const cron = cronOf(expression, timeZone);
  // previousRuns is strictly before its (whole-second) reference: one second later includes `at`.
  const [slot] = cron.previousRuns(1, new Date(floorToSecond(at) + 1000));
  return slot ?? null;
}

/** Slots after `from` (exclusive) up to `to` (inclusive), oldest first, at most `limit`. */
export function slotsBetween(expression: string, timeZone: string, from: Date, to: Date, limit = 10_000): Date[] {
  const cron = cronOf(expression, timeZone);
  const out: Date[] = [];
  for (const slot of cron.enumerate(from)) {
    if (slot.getTime() > to.getTime() || out.length >= limit) break;
    out.push(slot);
  }
  return out;
}

export type DueSlot = {
  /** The slot to run now: the latest one due. */
  slot: Date;
  /** Due slots older than `slot` that are not run (missed while the server was down). */
  skipped: number;
  /** True when there were more skipped slots than were counted (`skipped` is then a floor). */
  skippedAtLeast: boolean;
};

/** Missed slots counted one by one before the count is given as "at least" (about 0.2 ms each). */
export const SKIPPED_COUNT_LIMIT = 1_000;

/**
 * The slot due at `now` after the last one handled (`since`: the last slot run or recorded as
 * skipped, or the time the policy was created or enabled when it never ran). Slots missed
 * while the server was down get ONE catch-up run: the latest due slot, with the count of the
 * older ones it stands for. Null when nothing is due.
 */
export function dueSlot(expression: string, timeZone: string, since: Date, now: Date): DueSlot | null {
  const latest = slotAt(expression, timeZone, now);
  if (!latest || latest.getTime() <= since.getTime()) return null;
  const older = slotsBetween(expression, timeZone, since, new Date(latest.getTime() - 1), SKIPPED_COUNT_LIMIT + 1);
  const skippedAtLeast = older.length > SKIPPED_COUNT_LIMIT;
  return { slot: latest, skipped: Math.min(older.length, SKIPPED_COUNT_LIMIT), skippedAtLeast };
}
