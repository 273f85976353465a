"use client";
// The New backup form. The API is the judge of what is valid: its 422 `details` (keyed by
// field path, e.g. `vmName`, `disks.0.source`) are shown beside the field they name.
import { useRouter } from "next/navigation";
import { useRef, useState, type FormEvent } from "react";
import { Button, ButtonLink } from "@/app/components/button";
import { Field, FieldError, FormAlert, TextInput } from "@/app/components/form";
import { LinkIcon, PlusIcon, XIcon } from "@/app/components/icons";
import { Panel } from "@/app/components/panel";
import { RoleGate } from "@/app/components/role-gate";
import { useToast } from "@/app/components/toast";
import { formatBytes } from "@/lib/format";
import { ApiClientError } from "@/lib/queries/api-fetch";
import type { BackupType, Source } from "@/lib/queries/types";
import { useStartBackup } from "@/lib/queries/use-start-backup";
import { CopyPlanNote } from "./copy-plan-note";
import { SourcePicker } from "./source-picker";

type DiskDraft = { key: number; kind: "file" | "nbd"; source: string; label: string; size?: number; diskId: string };

const NBD_URI_HINT =
  "nbd:// on a host and port the server allows (loopback by default), " +
  "or nbd+unix:// with a socket in a folder it allows.";

const TYPES: { value: BackupType; title: string; text: string }[] = [
  { value: "full", title: "Full", text: "Copies every block of each disk." },
  {
    value: "incremental",
    title: "Incremental",
    text:
      "Writes only what changed since this VM’s last backup, on top of it: " +
      "each disk below says how it finds the changes.",
  },
];

export function NewBackupForm() {
  const router = useRouter();
  const toast = useToast();
  const start = useStartBackup();
  const [vmName, setVmName] = useState("");
  const [type, setType] = useState<BackupType>("full");
  const [disks, setDisks] = useState<DiskDraft[]>([]);
  const [uri, setUri] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const nextKey = useRef(1);

  const selected = new Set(disks.filter((d) => d.kind === "file").map((d) => d.source));
  const knownSize = disks.reduce((a, d) => a + (d.size ?? 0), 0);
  const clear = (...keys: string[]) =>
    setErrors((e) =>
      Object.fromEntries(Object.entries(e).filter(([k]) => !keys.some((key) => k === key || k.startsWith(`${key}.`)))),
    );

  const toggleSource = (s: Source) => {
    clear("disks");
    setDisks((all) =>
      all.some((d) => d.kind === "file" && d.source === s.path)
        ? all.filter((d) => !(d.kind === "file" && d.source === s.path))
        : [
            ...all,
            { key: nextKey.current++, kind: "file", source: s.path, label: s.name, size: s.virtualSize, diskId: "" },
          ],
    );
  };
  const addUri = () => {
    const value = uri.trim();
    if (!value) return;
    clear("disks");
    setDisks((all) => [...all, { key: nextKey.current++, kind: "nbd", source: value, label: value, diskId: "" }]);
    setUri("");
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setErrors({});
    setFormError(null);
    const request = {
      vmName: vmName.trim(),
      type,
      disks: disks.map((d) => (d.diskId.trim() ? { diskId: d.diskId.trim(), source: d.source } : { source: d.source })),
    };
    start.mutate(request, {
      onSuccess: (job) => {
        toast.success("Backup started", `${job.vmName}: ${job.disks.length} disk${job.disks.length === 1 ? "" : "s"}.`);
        router.push(`/jobs/${encodeURIComponent(job.id)}`);
      },
      onError: (error) => {
        const details =
          error instanceof ApiClientError && error.details && typeof error.details === "object" ? error.details : {};
        const known = /^(vmName|type|disks(\.\d+\.(source|diskId))?)$/;
        const fieldErrors = Object.fromEntries(
          Object.entries(details)
            .filter(([k]) => known.test(k))
            .map(([k, v]) => [k, String(v)]),
        );
        const other = Object.entries(details).filter(([k]) => !known.test(k));
        setErrors(fieldErrors);
        setFormError(
          other.length
            ? other.map(([k, v]) => `${k}: ${v}`).join("; ")
            : Object.keys(fieldErrors).length
              ? null
              : error.message,
        );
        toast.error("Could not start the backup", error.message);
        const first = Object.keys(fieldErrors)[0];
        if (first) document.getElementById(first === "vmName" ? "vmName" : first.replace(/\./g, "-"))?.focus();
      },
    });
  };

  return (
    <form onSubmit={submit} noValidate className="grid gap-6 xl:grid-cols-3">
      <div className="space-y-6 xl:col-span-2">
        <Panel id="vm" title="Virtual machine" bodyClassName="p-4 space-y-5">
          <Field
            id="vmName"
            label="VM name"
            className="max-w-md"
            error={errors.vmName}
            hint="Letters, digits, “.”, “_” and “-”. Names the backup in the repository."
          >
            <TextInput
              id="vmName"
              name="vmName"
              value={vmName}
              onChange={(e) => {
                setVmName(e.target.value);
                clear("vmName");
              }}
              placeholder="web-01"
              autoComplete="off"
              aria-invalid={errors.vmName ? true : undefined}
              aria-describedby={errors.vmName ? "vmName-error" : "vmName-hint"}
            />
          </Field>
          <fieldset>
            <legend className="mb-1.5 text-sm font-medium">Backup type</legend>
            <div className="grid gap-3 sm:grid-cols-2">
              {TYPES.map((t) => (
                <label
                  key={t.value}
                  className={`flex cursor-pointer gap-3 rounded-lg p-3 ring-1 transition-colors has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-sky-600 ${
                    type === t.value
                      ? "bg-sky-50/70 ring-sky-500 dark:bg-sky-400/5 dark:ring-sky-500"
                      : "ring-slate-200 hover:bg-slate-50 dark:ring-slate-700 dark:hover:bg-slate-800/40"
                  }`}
                >
                  <input
                    type="radio"
                    name="type"
                    value={t.value}
                    checked={type === t.value}
                    onChange={() => setType(t.value)}
                    className="mt-0.5 h-4 w-4 accent-sky-600"
                  />
                  <span>
                    <span className="block text-sm font-medium">{t.title}</span>
                    <span className="block text-xs text-slate-500 dark:text-slate-400">{t.text}</span>
                  </span>
                </label>
              ))}
            </div>
            <FieldError id="type-error" message={errors.type} />
          </fieldset>
        </Panel>

        <Panel
          id="sources"
          title="Disks"
          description="Tick disk images from the sources directory, or add the NBD URI of a source export."
          bodyClassName="p-4 space-y-4"
        >
          <SourcePicker selected={selected} onToggle={toggleSource} />
          <Field id="nbd-uri" label="NBD source URI" hint={NBD_URI_HINT}>
            <div className="flex max-w-2xl gap-2">
              <TextInput
                id="nbd-uri"
                className="font-mono"
                value={uri}
                onChange={(e) => setUri(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === "Enter") {
                    e.preventDefault();
                    addUri();
                  }
                }}
                placeholder="nbd://127.0.0.1:10809/vm-disk"
                autoComplete="off"
                spellCheck={false}
                aria-describedby="nbd-uri-hint"
              />
              <Button onClick={addUri} disabled={!uri.trim()} icon={<PlusIcon />}>
                Add disk
              </Button>
            </div>
          </Field>
        </Panel>
      </div>

      <div className="xl:sticky xl:top-20 xl:self-start">
        <Panel
          id="selected"
          title="This backup"
          description={
            disks.length
              ? `${disks.length} disk${disks.length === 1 ? "" : "s"}${knownSize ? `, ${formatBytes(knownSize)}` : ""}`
              : "No disk chosen yet"
          }
          bodyClassName=""
        >
          {disks.length === 0 ? (
            <p className="p-4 text-sm text-slate-500 dark:text-slate-400" data-testid="no-disks">
              Tick a disk image or add an NBD URI; the disks show here in the order they are backed up.
            </p>
          ) : (
            <ol className="divide-y divide-slate-100 dark:divide-slate-800" data-testid="chosen-disks">
              {disks.map((d, i) => {
                const sourceError = errors[`disks.${i}.source`];
                const idError = errors[`disks.${i}.diskId`];
                return (
                  <li key={d.key} className="p-3">
                    <div className="flex items-center gap-2">
                      <span className="grid h-6 w-6 shrink-0 place-items-center rounded bg-slate-100 text-xs font-medium text-slate-600 tabular-nums dark:bg-slate-800 dark:text-slate-300">
                        {i}
                      </span>
                      {d.kind === "nbd" ? <LinkIcon className="h-3.5 w-3.5 shrink-0 text-slate-400" /> : null}
                      <span
                        id={`disks-${i}-source`}
                        tabIndex={-1}
                        className={`min-w-0 flex-1 truncate text-sm ${d.kind === "nbd" ? "font-mono" : "font-medium"}`}
                        title={d.source}
                      >
                        {d.label}
                      </span>
                      {d.size ? (
                        <span className="text-xs text-slate-500 tabular-nums">{formatBytes(d.size)}</span>
                      ) : null}
                      <button
                        type="button"
                        onClick={() => {
                          clear("disks");
                          setDisks((all) => all.filter((x) => x.key !== d.key));
                        }}
                        aria-label={`Remove ${d.label}`}
                        className="rounded p-1 text-slate-400 hover:bg-slate-100 hover:text-slate-700 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-slate-800 dark:hover:text-slate-200"
                      >
                        <XIcon className="h-3.5 w-3.5" />
                      </button>
                    </div>
                    <FieldError id={`disks-${i}-source-error`} message={sourceError} />
                    <CopyPlanNote
                      vmName={vmName.trim()}
                      type={type}
                      source={d.source}
                      diskId={d.diskId.trim() || `disk${i}`}
                    />
                    <div className="mt-2 flex items-center gap-2 pl-8">
                      <label
                        htmlFor={`disks-${i}-diskId`}
                        className="text-xs whitespace-nowrap text-slate-500 dark:text-slate-400"
                      >
                        Disk ID
                      </label>
                      <TextInput
                        id={`disks-${i}-diskId`}
                        className="py-1 font-mono text-xs"
                        value={d.diskId}
                        placeholder={`disk${i}`}
                        aria-invalid={idError ? true : undefined}
                        aria-describedby={idError ? `disks-${i}-diskId-error` : undefined}
                        onChange={(e) => {
                          const value = e.target.value;
                          clear(`disks.${i}.diskId`);
                          setDisks((all) => all.map((x) => (x.key === d.key ? { ...x, diskId: value } : x)));
                        }}
                      />
                    </div>
                    {idError ? (
                      <div className="pl-8">
                        <FieldError id={`disks-${i}-diskId-error`} message={idError} />
                      </div>
                    ) : null}
                  </li>
                );
              })}
            </ol>
          )}
          <div className="space-y-3 border-t border-slate-100 p-4 dark:border-slate-800">
            <FieldError id="disks-error" message={errors.disks} />
            <FormAlert message={formError} testId="form-error" />
            <div className="flex gap-2">
              <RoleGate
                role="operator"
                fallback={
                  <p className="flex-1 text-sm text-slate-600 dark:text-slate-400" data-testid="viewer-note">
                    Your role is viewer: an operator or admin can start backups.
                  </p>
                }
              >
                <Button
                  type="submit"
                  variant="primary"
                  busy={start.isPending}
                  className="flex-1"
                  data-testid="start-backup"
                >
                  Start backup
                </Button>
              </RoleGate>
              <ButtonLink href="/jobs">Cancel</ButtonLink>
            </div>
          </div>
        </Panel>
      </div>
    </form>
  );
}
