"use client";
// Start a restore of one point (?jobId=…): Export (read-only NBD, with a time to live) or Copy
// (a disk to a new raw/qcow2 file under the sources folder, or to an nbd:// URI).
import { useRouter, useSearchParams } from "next/navigation";
import { useState } from "react";
import { ApiClientError } from "@/lib/queries/api-fetch";
import type { StartRestoreRequest } from "@/lib/queries/restore-types";
import { useBackupJob } from "@/lib/queries/use-backup-job";
import { useStartRestore } from "@/lib/queries/use-restore-actions";
import { Button } from "../../components/button";
import { restoreHref } from "../../components/hrefs";
import { Panel } from "../../components/panel";
import { QueryError } from "../../components/query-error";
import { Field, FieldError, Select, TextInput } from "@/app/components/form";

type Mode = "export" | "copy";
type Target = "file" | "nbd";

const FORMATS = ["raw", "qcow2"] as const;
const label = "block text-sm font-medium text-slate-700 dark:text-slate-200";
const choice = (on: boolean) =>
  `flex-1 cursor-pointer rounded-lg px-4 py-3 text-sm ring-1 ${on ? "bg-sky-50 ring-2 ring-sky-600 dark:bg-sky-400/10" : "ring-slate-300 dark:ring-slate-700"}`;

/** Where a copy may go: the choice's words, and the field it is typed in (the API's name for it). */
const TARGETS: Record<Target, { choice: string; id: string; label: string; field: string; placeholder: string }> = {
  file: {
    choice: "A new file",
    id: "dest-path",
    label: "Path under the sources folder",
    field: "destination.path",
    placeholder: "restored/vm-disk0.raw",
  },
  nbd: {
    choice: "An NBD export",
    id: "dest-nbd",
    label: "NBD URI",
    field: "destination.nbd",
    placeholder: "nbd://host:10809/disk",
  },
};

type DestinationFieldProps = {
  target: Target;
  error: string | undefined;
  value: string;
  onChange: (value: string) => void;
  className?: string;
};

/** Where a copy goes (a path, an NBD URI): typed in monospace, the server's complaint under it. */
function DestinationField({ target, error, value, onChange, className }: DestinationFieldProps) {
  const { id, label, placeholder } = TARGETS[target];
  return (
    <Field id={id} label={label} error={error} className={className}>
      <TextInput
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder={placeholder}
        className="font-mono"
        aria-invalid={!!error}
      />
    </Field>
  );
}

export function NewRestoreForm() {
  const params = useSearchParams();
  const jobId = params.get("jobId") ?? "";
  const job = useBackupJob(jobId);
  const start = useStartRestore();
  const router = useRouter();
  const [mode, setMode] = useState<Mode>("export");
  const [target, setTarget] = useState<Target>("file");
  const [picked, setPicked] = useState<string[] | null>(null);
  const [hours, setHours] = useState("1");
  const [destinations, setDestinations] = useState<Record<Target, string>>({ file: "", nbd: "" });
  const [format, setFormat] = useState<"raw" | "qcow2">("raw");

  if (!jobId)
    return <p className="text-sm text-slate-600">Open a restore point from a VM&apos;s page or a completed job.</p>;
  if (job.isError && !job.data) return <QueryError error={job.error} what="the backup job" />;
  if (!job.data)
    return <div className="h-40 animate-pulse rounded-xl bg-slate-200/70 dark:bg-slate-800/60" aria-busy="true" />;

  const disks = job.data.disks.filter((d) => d.status === "completed").map((d) => d.diskId);
  const chosen = picked ?? (mode === "copy" ? disks.slice(0, 1) : disks);
  const error = start.error instanceof ApiClientError ? start.error : null;
  const fieldError = (field: string) => error?.details?.[field];

  const destination = (className?: string) => (
    <DestinationField
      target={target}
      error={fieldError(TARGETS[target].field)}
      value={destinations[target]}
      onChange={(value) => setDestinations({ ...destinations, [target]: value })}
      className={className}
    />
  );

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const body: StartRestoreRequest = { jobId, mode, disks: chosen };
    if (mode === "export") body.ttlSeconds = Math.round(Number(hours) * 3600);
    else body.destination = target === "file" ? { path: destinations.file, format } : { nbd: destinations.nbd };
    start.mutate(body, { onSuccess: (r) => router.push(restoreHref(r.id)) });
  };

  return (
    <form onSubmit={submit} className="max-w-2xl space-y-6" data-testid="new-restore-form">
      <Panel
        id="point"
        title={`${job.data.vmName} · ${job.data.type} backup`}
        description={jobId}
        bodyClassName="p-4 space-y-5"
      >
        <fieldset>
          <legend className={label}>How</legend>
          <div className="mt-2 flex gap-3">
            {(["export", "copy"] as const).map((m) => (
              <label key={m} className={choice(mode === m)}>
                <input
                  type="radio"
                  name="mode"
                  value={m}
                  checked={mode === m}
                  onChange={() => {
                    setMode(m);
                    setPicked(null);
                  }}
                  className="sr-only"
                />
                <span className="font-medium">{m === "export" ? "Export" : "Copy back"}</span>
                <span className="mt-0.5 block text-xs text-slate-500">
                  {m === "export" ? "Serve it read-only over NBD" : "Write a disk to a new file or an NBD export"}
                </span>
              </label>
            ))}
          </div>
        </fieldset>
        <fieldset>
          <legend className={label}>Disks</legend>
          <div className="mt-2 flex flex-wrap gap-4">
            {disks.map((d) => (
              <label key={d} className="inline-flex items-center gap-2 font-mono text-sm">
                <input
                  type={mode === "copy" ? "radio" : "checkbox"}
                  name="disks"
                  checked={chosen.includes(d)}
                  onChange={(e) =>
                    setPicked(mode === "copy" ? [d] : e.target.checked ? [...chosen, d] : chosen.filter((x) => x !== d))
                  }
                />
                {d}
              </label>
            ))}
          </div>
          <FieldError id="disks-error" message={fieldError("disks") ?? fieldError("disks.0")} />
        </fieldset>
        {mode === "export" ? (
          <Field id="ttl" label="Serve for (hours)" error={fieldError("ttlSeconds")}>
            <TextInput
              id="ttl"
              type="number"
              min="0.01"
              max="168"
              step="any"
              value={hours}
              onChange={(e) => setHours(e.target.value)}
              className="max-w-32"
            />
          </Field>
        ) : (
          <div className="space-y-3">
            <div className="flex gap-4 text-sm">
              {(["file", "nbd"] as const).map((t) => (
                <label key={t} className="inline-flex items-center gap-2">
                  <input type="radio" checked={target === t} onChange={() => setTarget(t)} />
                  {` ${TARGETS[t].choice}`}
                </label>
              ))}
            </div>
            {target === "file" ? (
              <div className="flex gap-3">
                {destination("flex-1")}
                <Field id="dest-format" label="Format">
                  <Select
                    id="dest-format"
                    value={format}
                    onChange={(e) => setFormat(e.target.value as "raw" | "qcow2")}
                    options={FORMATS}
                  />
                </Field>
              </div>
            ) : (
              destination()
            )}
          </div>
        )}
      </Panel>
      {error && !Object.keys(error.details ?? {}).length ? (
        <p role="alert" data-testid="restore-error" className="text-sm text-rose-600 dark:text-rose-400">
          {error.message}
        </p>
      ) : null}
      <Button type="submit" variant="primary" busy={start.isPending} data-testid="start-restore">
        {mode === "export" ? "Export" : "Copy back"}
      </Button>
    </form>
  );
}
