"use client";
// Filters (actor, action, target, result, time) and the matching audit rows, newest first.
import type { InfiniteData } from "@tanstack/react-query";
import { useState } from "react";
import { Button } from "@/app/components/button";
import { td, tdMuted } from "@/app/components/data-table";
import { Field, Form, Select, TextInput, type FormValues, type Option } from "@/app/components/form";
import { formatDateTime } from "@/app/components/format";
import { Panel } from "@/app/components/panel";
import { TablePanel, type PanelRows } from "@/app/components/table-panel";
import { AUDIT_RESULTS, type AuditEventView, type AuditPage } from "@/lib/api/schemas/auth";
import type { AuditFilters } from "@/lib/queries/keys";
import { useAudit } from "@/lib/queries/use-audit";

const resultStyle: Record<AuditEventView["result"], string> = {
  allowed: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200",
  denied: "bg-amber-100 text-amber-800 dark:bg-amber-900/50 dark:text-amber-200",
  failed: "bg-rose-100 text-rose-800 dark:bg-rose-900/50 dark:text-rose-200",
};

/** <input type="datetime-local"> gives local time without a zone; the API wants ISO-8601 UTC. */
function localToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function filtersOf(values: FormValues): AuditFilters {
  const text = (name: string) => values.text(name).trim() || undefined;
  return {
    actor: text("actor"),
    action: text("action"),
    target: text("target"),
    result: text("result"),
    from: localToIso(values.text("from")),
    to: localToIso(values.text("to")),
  };
}

type Filter = { name: keyof AuditFilters; label: string; placeholder?: string; type?: string; options?: Option[] };

const FILTERS: Filter[] = [
  { name: "actor", label: "Actor", placeholder: "user or token:name" },
  { name: "action", label: "Action", placeholder: "e.g. auth. or backup.start" },
  { name: "target", label: "Target" },
  { name: "result", label: "Result", options: [{ value: "", label: "any" }, ...AUDIT_RESULTS] },
  { name: "from", label: "From", type: "datetime-local" },
  { name: "to", label: "To", type: "datetime-local" },
];

function detailsText(details: AuditEventView["details"]): string {
  if (!details) return "";
  return Object.entries(details)
    .filter(([k]) => k !== "status" && k !== "via")
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

export function AuditView() {
  const [filters, setFilters] = useState<AuditFilters>({});
  const audit = useAudit(filters);
  return (
    <div className="space-y-6">
      <Panel title="Filters">
        <Form
          onSubmit={(values) => setFilters(filtersOf(values))}
          onReset={() => setFilters({})}
          className="grid gap-3 sm:grid-cols-3 lg:grid-cols-[repeat(6,minmax(0,1fr))_auto] lg:items-end"
          data-testid="audit-filters"
        >
          {FILTERS.map((f) => (
            <Field key={f.name} id={`f-${f.name}`} label={f.label}>
              {f.options ? (
                <Select id={`f-${f.name}`} name={f.name} defaultValue="" options={f.options} />
              ) : (
                <TextInput id={`f-${f.name}`} name={f.name} type={f.type} placeholder={f.placeholder} />
              )}
            </Field>
          ))}
          <div className="flex gap-2">
            <Button type="submit" variant="primary" data-testid="audit-apply">
              Apply
            </Button>
            <Button type="reset" variant="ghost">
              Clear
            </Button>
          </div>
        </Form>
      </Panel>
      <TablePanel
        title="Events"
        query={audit}
        rows={EVENTS}
        footer={
          audit.hasNextPage ? (
            <div className="border-t border-slate-100 p-3 text-center dark:border-slate-800">
              <Button size="sm" onClick={() => audit.fetchNextPage()} busy={audit.isFetchingNextPage}>
                Load older
              </Button>
            </div>
          ) : null
        }
      />
    </div>
  );
}

const EVENTS: PanelRows<InfiniteData<AuditPage>, AuditEventView> = {
  noun: "audit",
  what: "the audit trail",
  columns: ["Time", "Actor", "Action", "Target", "Result", "From", "Details"],
  rowsOf: (data) => data.pages.flatMap((p) => p.items),
  row: (e) => <AuditRow key={e.id} event={e} />,
  empty: (
    <p className="p-4 text-sm text-slate-500" data-testid="audit-empty">
      No events match.
    </p>
  ),
};

/** Top-aligned: a long Details cell wraps onto several lines. */
function AuditRow({ event: e }: { event: AuditEventView }) {
  return (
    <tr data-testid="audit-row" data-action={e.action} data-result={e.result} className="align-top">
      <td className={tdMuted}>{formatDateTime(e.at)}</td>
      <td className={`${td} font-medium`}>{e.actor}</td>
      <td className={`${td} font-mono text-xs`}>{e.action}</td>
      <td className={`${td} break-all`}>{e.target ?? ""}</td>
      <td className={`${td} whitespace-nowrap`}>
        <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${resultStyle[e.result]}`}>{e.result}</span>
        {e.status ? <span className="ml-1.5 text-xs text-slate-500 tabular-nums">{e.status}</span> : null}
      </td>
      <td className={`${td} whitespace-nowrap font-mono text-xs text-slate-500`}>{e.clientIp ?? ""}</td>
      <td className={`${td} break-all text-xs text-slate-500 dark:text-slate-400`}>{detailsText(e.details)}</td>
    </tr>
  );
}
