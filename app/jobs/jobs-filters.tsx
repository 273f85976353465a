"use client";
// The Jobs page's filters. They live in the URL (shareable, survive a reload); the VM name (a
// name or the start of one) is applied after a short pause in typing.
import { useEffect, useState } from "react";
import type { BackupFilters } from "@/lib/queries/keys";
import { TIME_RANGES } from "@/lib/queries/use-backups";
import { Button } from "../components/button";

const STATUSES = ["queued", "running", "completed", "failed", "cancelled"];
export const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const field =
  "block h-9 w-full rounded-md border-0 bg-white px-3 py-1.5 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-sky-600 focus:outline-none dark:bg-slate-900 dark:text-slate-100 dark:ring-slate-700";
const label = "mb-1 block text-xs font-medium text-slate-600 dark:text-slate-400";

/** `datetime-local` value ↔ ISO time. */
const toLocalInput = (iso?: string) => {
  if (!iso) return "";
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocalInput = (value: string) => (value ? new Date(value).toISOString() : undefined);

export function JobsFilters({ filters, onChange }: { filters: BackupFilters; onChange: (next: BackupFilters) => void }) {
  const [vmName, setVmName] = useState(filters.vmName ?? "");
  useEffect(() => setVmName(filters.vmName ?? ""), [filters.vmName]);
  const vmInvalid = vmName !== "" && !VM_NAME.test(vmName);

  useEffect(() => {
    if (vmInvalid || vmName === (filters.vmName ?? "")) return;
    const timer = setTimeout(() => onChange({ ...filters, vmName: vmName || undefined }), 350);
    return () => clearTimeout(timer);
  }, [vmName, vmInvalid, filters, onChange]);

  const active = Boolean(filters.status || filters.vmName || (filters.range && filters.range !== "any"));

  return (
    <form role="search" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()} className="flex flex-wrap items-end gap-3">
      <div className="w-40">
        <label htmlFor="filter-status" className={label}>Status</label>
        <select id="filter-status" className={field} value={filters.status ?? ""} onChange={(e) => onChange({ ...filters, status: e.target.value || undefined })}>
          <option value="">All statuses</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>{s[0].toUpperCase() + s.slice(1)}</option>
          ))}
        </select>
      </div>
      <div className="w-56">
        <label htmlFor="filter-vm" className={label}>VM name</label>
        <input
          id="filter-vm"
          type="search"
          className={`${field} ${vmInvalid ? "ring-rose-500" : ""}`}
          placeholder="name or its start, e.g. web"
          value={vmName}
          autoComplete="off"
          aria-invalid={vmInvalid || undefined}
          aria-describedby={vmInvalid ? "filter-vm-error" : undefined}
          onChange={(e) => setVmName(e.target.value.trim())}
        />
      </div>
      <div className="w-44">
        <label htmlFor="filter-range" className={label}>Time</label>
        <select id="filter-range" className={field} value={filters.range ?? "any"} onChange={(e) => onChange({ ...filters, range: e.target.value === "any" ? undefined : e.target.value, from: undefined, to: undefined })}>
          {Object.entries(TIME_RANGES).map(([value, r]) => (
            <option key={value} value={value}>{r.label}</option>
          ))}
        </select>
      </div>
      {filters.range === "custom" ? (
        <>
          <div>
            <label htmlFor="filter-from" className={label}>From</label>
            <input id="filter-from" type="datetime-local" className={field} value={toLocalInput(filters.from)} onChange={(e) => onChange({ ...filters, from: fromLocalInput(e.target.value) })} />
          </div>
          <div>
            <label htmlFor="filter-to" className={label}>To</label>
            <input id="filter-to" type="datetime-local" className={field} value={toLocalInput(filters.to)} onChange={(e) => onChange({ ...filters, to: fromLocalInput(e.target.value) })} />
          </div>
        </>
      ) : null}
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
