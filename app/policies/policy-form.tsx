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

export function PolicyForm({ editing, onDone }: { editing: Policy | null; onDone: () => void }) {
  const [name, setName] = useState(editing?.name ?? "");
  const [vmName, setVmName] = useState(editing?.vmName ?? "");
  const [sources, setSources] = useState(editing?.disks.map((d) => d.source).join(", ") ?? "");
  const [schedule, setSchedule] = useState(editing?.schedule ?? "0 2 * * *");
  const [timezone, setTimezone] = useState(editing?.timezone ?? browserZone());
  const [fullEvery, setFullEvery] = useState(String(editing?.fullEvery ?? 7));
  const [keep, setKeep] = useState(editing?.retention ?? { keepLast: 7, keepDaily: 7, keepWeekly: 4, keepMonthly: 6 });
  const save = useSavePolicy();
  const next = useNextRuns(useDebounced(schedule), useDebounced(timezone));
  const error = save.error instanceof ApiClientError ? save.error : null;
  const scheduleProblem = problemOf(next.error);

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
      <label className="text-sm">
        Name
        <input className={input} value={name} onChange={(e) => setName(e.target.value)} name="name" />
      </label>
      <label className="text-sm">
        VM name
        <input className={input} value={vmName} onChange={(e) => setVmName(e.target.value)} name="vmName" />
      </label>
      <label className="text-sm md:col-span-2">
        Disk sources (comma-separated: files under the sources folder, or nbd:// URIs)
        <input className={input} value={sources} onChange={(e) => setSources(e.target.value)} name="sources" />
      </label>
      <label className="text-sm">
        Schedule (cron: 5 fields, or 6 with seconds first)
        <input className={input} value={schedule} onChange={(e) => setSchedule(e.target.value)} name="schedule" />
      </label>
      <label className="text-sm">
        Time zone
        <input className={input} value={timezone} onChange={(e) => setTimezone(e.target.value)} name="timezone" />
      </label>
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
      <label className="text-sm">
        Full every N runs (1: always full)
        <input
          className={input}
          value={fullEvery}
          onChange={(e) => setFullEvery(e.target.value)}
          name="fullEvery"
          inputMode="numeric"
        />
      </label>
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
