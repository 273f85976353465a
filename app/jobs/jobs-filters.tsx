"use client";
// The Jobs page's filters (status, VM, node, time). They live in the URL (shareable, survive a reload); the VM name (a
// name or the start of one) is applied after a short pause in typing.
import { useEffect, useState } from "react";
import type { BackupFilters } from "@/lib/queries/keys";
import { NAME_PATTERN } from "@/lib/names";
import { TIME_RANGES } from "@/lib/queries/use-backups";
import { Button } from "../components/button";
import { Field, Select, TextInput } from "../components/form";
import { NodeSelect } from "../components/node-select";

const STATUSES = [
  { value: "", label: "All statuses" },
  ...["queued", "running", "completed", "failed", "cancelled"].map((s) => ({
    value: s,
    label: s[0].toUpperCase() + s.slice(1),
  })),
];
/** A custom time range's two ends. */
const BOUNDS = [
  { key: "from", label: "From" },
  { key: "to", label: "To" },
] as const;
const RANGES = Object.entries(TIME_RANGES).map(([value, r]) => ({ value, label: r.label }));

/** `datetime-local` value ↔ ISO time. */
const toLocalInput = (iso?: string) => {
  if (!iso) return "";
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocalInput = (value: string) => (value ? new Date(value).toISOString() : undefined);

type JobsFiltersProps = { filters: BackupFilters; onChange: (next: BackupFilters) => void };

export function JobsFilters({ filters, onChange }: JobsFiltersProps) {
  const [vmName, setVmName] = useState(filters.vmName ?? "");
  // A filter changed from outside (the URL, a reset): the field follows it, during render, as
  // React advises for state that mirrors a prop (no effect, no second render pass).
  const [shownFilter, setShownFilter] = useState(filters.vmName);
  if (filters.vmName !== shownFilter) {
    setShownFilter(filters.vmName);
    setVmName(filters.vmName ?? "");
  }
  const vmInvalid = vmName !== "" && !NAME_PATTERN.test(vmName);

  useEffect(() => {
    if (vmInvalid || vmName === (filters.vmName ?? "")) return;
    const timer = setTimeout(() => onChange({ ...filters, vmName: vmName || undefined }), 350);
    return () => clearTimeout(timer);
  }, [vmName, vmInvalid, filters, onChange]);

  const active = Boolean(
    filters.status || filters.vmName || filters.node || (filters.range && filters.range !== "any"),
  );

  return (
    <form
      role="search"
      aria-label="Filter jobs"
      onSubmit={(e) => e.preventDefault()}
      className="flex flex-wrap items-end gap-3"
    >
      <Field id="filter-status" label="Status" className="w-40">
        <Select
          id="filter-status"
          value={filters.status ?? ""}
          onChange={(e) => onChange({ ...filters, status: e.target.value || undefined })}
          options={STATUSES}
        />
      </Field>
      <Field id="filter-vm" label="VM name" className="w-56">
        <TextInput
          id="filter-vm"
          type="search"
          placeholder="name or its start, e.g. web"
          value={vmName}
          autoComplete="off"
          aria-invalid={vmInvalid || undefined}
          aria-describedby={vmInvalid ? "filter-vm-error" : undefined}
          onChange={(e) => setVmName(e.target.value.trim())}
        />
      </Field>
      <NodeSelect id="filter-node" value={filters.node} onChange={(node) => onChange({ ...filters, node })} />
      <Field id="filter-range" label="Time" className="w-44">
        <Select
          id="filter-range"
          value={filters.range ?? "any"}
          onChange={(e) => {
            const range = e.target.value === "any" ? undefined : e.target.value;
            onChange({ ...filters, range, from: undefined, to: undefined });
          }}
          options={RANGES}
        />
      </Field>
      {filters.range === "custom"
        ? BOUNDS.map(({ key, label }) => (
            <Field key={key} id={`filter-${key}`} label={label}>
              <TextInput
                id={`filter-${key}`}
                type="datetime-local"
                value={toLocalInput(filters[key])}
                onChange={(e) => onChange({ ...filters, [key]: fromLocalInput(e.target.value) })}
              />
            </Field>
          ))
        : null}
      {active ? (
        <Button variant="ghost" onClick={() => onChange({})}>
          Clear filters
        </Button>
      ) : null}
      {vmInvalid ? (
        <p id="filter-vm-error" className="basis-full text-xs text-rose-600 dark:text-rose-400">
          A VM name has letters, digits, “.”, “_” or “-” and starts with a letter or digit.
        </p>
      ) : null}
    </form>
  );
}
