"use client";
// Create or edit a policy. The next five run times come from the server as one types (the
// runner's own schedule rules: one source of truth), with the field's problem when it is wrong.
import { useEffect, useState } from "react";
import { ApiClientError } from "@/lib/queries/api-fetch";
import { useNextRuns, useSavePolicy, type Policy, type PolicyBody } from "@/lib/queries/use-policies";
import { Button } from "../components/button";
import { formatDateTime } from "../components/format";

const input =
  "mt-1 block w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm dark:border-slate-700 dark:bg-slate-800";
const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** The schedule field's problem in words (details name the field), or null. */
function problemOf(error: unknown): string | null {
  if (!(error instanceof ApiClientError)) return null;
  return Object.values(error.details ?? {}).join(" ") || error.message;
}

/** "a.img, b.img" → the policy's disks, numbered. */
function disksOf(sources: string): PolicyBody["disks"] {
  return sources
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((source, i) => ({ diskId: `disk${i}`, source }));
}

/** The value once it stopped changing for `ms` (one request per pause in typing, not per key). */
function useDebounced(value: string, ms = 300): string {
  const [v, setV] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setV(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return v;
}

/** The form's typed fields, as typed. */
type Texts = { name: string; vmName: string; sources: string; schedule: string; timezone: string; fullEvery: string };
type TextField = { name: keyof Texts; label: string; wide?: true; numeric?: true };

/** The fields above the next run times, in their order. */
const FIELDS: TextField[] = [
  { name: "name", label: "Name" },
  { name: "vmName", label: "VM name" },
  {
    name: "sources",
    label: "Disk sources (comma-separated: files under the sources folder, or nbd:// URIs)",
    wide: true,
  },
  { name: "schedule", label: "Schedule (cron: 5 fields, or 6 with seconds first)" },
  { name: "timezone", label: "Time zone" },
];
const FULL_EVERY: TextField = { name: "fullEvery", label: "Full every N runs (1: always full)", numeric: true };

function textsOf(editing: Policy | null): Texts {
  return {
    name: editing?.name ?? "",
    vmName: editing?.vmName ?? "",
    sources: editing?.disks.map((d) => d.source).join(", ") ?? "",
    schedule: editing?.schedule ?? "0 2 * * *",
    timezone: editing?.timezone ?? browserZone(),
    fullEvery: String(editing?.fullEvery ?? 7),
  };
}

export function PolicyForm({ editing, onDone }: { editing: Policy | null; onDone: () => void }) {
  const [texts, setTexts] = useState(() => textsOf(editing));
  const { name, vmName, sources, schedule, timezone, fullEvery } = texts;
  const [keep, setKeep] = useState(editing?.retention ?? { keepLast: 7, keepDaily: 7, keepWeekly: 4, keepMonthly: 6 });
  const save = useSavePolicy();
  const next = useNextRuns(useDebounced(schedule), useDebounced(timezone));
  const error = save.error instanceof ApiClientError ? save.error : null;
  const scheduleProblem = problemOf(next.error);

  const text = ({ name: field, label, wide, numeric }: TextField) => (
    <label key={field} className={wide ? "text-sm md:col-span-2" : "text-sm"}>
      {label}
      <input
        className={input}
        value={texts[field]}
        onChange={(e) => setTexts({ ...texts, [field]: e.target.value })}
        name={field}
        inputMode={numeric ? "numeric" : undefined}
      />
    </label>
  );

  const submit = () => {
    const body: PolicyBody = {
      name,
      vmName,
      schedule,
      timezone,
      fullEvery: Number(fullEvery) || 1,
      retention: keep,
      enabled: editing?.enabled ?? true,
      disks: disksOf(sources),
    };
    save.mutate({ id: editing?.id ?? null, body }, { onSuccess: onDone });
  };

  return (
    <form
      className="grid gap-4 md:grid-cols-2"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      aria-label="Policy"
    >
      {FIELDS.map(text)}
      <div className="text-sm md:col-span-2" data-testid="next-runs" aria-live="polite">
        <span className="font-medium">Next runs: </span>
        {scheduleProblem ? (
          <span className="text-rose-600">{scheduleProblem}</span>
        ) : next.data ? (
          <ol className="mt-1 list-decimal pl-6">
            {next.data.nextRuns.map((r) => (
              <li key={r}>{formatDateTime(r)}</li>
            ))}
          </ol>
        ) : (
          <span className="text-slate-500">…</span>
        )}
      </div>
      {text(FULL_EVERY)}
      <fieldset className="grid grid-cols-4 gap-2 text-sm">
        <legend className="mb-1">Keep (0: rule off; all 0 keeps everything)</legend>
        {(["keepLast", "keepDaily", "keepWeekly", "keepMonthly"] as const).map((k) => (
          <label key={k}>
            {k.replace("keep", "")}
            <input
              className={input}
              name={k}
              inputMode="numeric"
              value={keep[k]}
              onChange={(e) => setKeep({ ...keep, [k]: Number(e.target.value) || 0 })}
            />
          </label>
        ))}
      </fieldset>
      {error ? (
        <p role="alert" className="text-sm text-rose-600 md:col-span-2">
          {error.message}
        </p>
      ) : null}
      <div className="flex gap-2 md:col-span-2">
        <Button type="submit" variant="primary" busy={save.isPending}>
          {editing ? "Save policy" : "Create policy"}
        </Button>
        <Button onClick={onDone}>Cancel</Button>
      </div>
    </form>
  );
}
