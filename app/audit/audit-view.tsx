"use client";
// Filters (actor, action, target, result, time) and the matching audit rows, newest first.
import { useState, type FormEvent } from "react";
import { Button } from "@/app/components/button";
import { formatDateTime } from "@/app/components/format";
import { Panel } from "@/app/components/panel";
import { QueryError } from "@/app/components/query-error";
import { inputClass, labelClass } from "@/app/login/auth-card";
import { AUDIT_RESULTS, type AuditEventView } from "@/lib/api/schemas/auth";
import { useAudit, type AuditFilters } from "@/lib/auth/client/use-audit";

const th = "px-3 py-2 text-left text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400";
const td = "px-3 py-2 align-top";

const resultStyle: Record<AuditEventView["result"], string> = {
  allowed: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/50 dark:text-emerald-200",
  denied: "bg-amber-100 text-amber-800 dark:bg-amber-900/50 dark:text-amber-200",
  failed: "bg-rose-100 text-rose-800 dark:bg-rose-900/50 dark:text-rose-200",
};

/** <input type="datetime-local"> gives local time without a zone; the API wants ISO-8601 UTC. */
function localToIso(value: FormDataEntryValue | null): string | undefined {
  if (typeof value !== "string" || !value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function text(value: FormDataEntryValue | null): string | undefined {
  return typeof value === "string" && value.trim() ? value.trim() : undefined;
}

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
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setFilters({ actor: text(f.get("actor")), action: text(f.get("action")), target: text(f.get("target")), result: text(f.get("result")), from: localToIso(f.get("from")), to: localToIso(f.get("to")) });
  }
  const rows = audit.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="space-y-6">
      <Panel title="Filters">
        <form onSubmit={submit} onReset={() => setFilters({})} className="grid gap-3 sm:grid-cols-3 lg:grid-cols-[repeat(6,minmax(0,1fr))_auto] lg:items-end" data-testid="audit-filters">
          <div>
            <label htmlFor="f-actor" className={labelClass}>
              Actor
            </label>
            <input id="f-actor" name="actor" placeholder="user or token:name" className={inputClass} />
          </div>
          <div>
            <label htmlFor="f-action" className={labelClass}>
              Action
            </label>
            <input id="f-action" name="action" placeholder="e.g. auth. or backup.start" className={inputClass} />
          </div>
          <div>
            <label htmlFor="f-target" className={labelClass}>
              Target
            </label>
            <input id="f-target" name="target" className={inputClass} />
          </div>
          <div>
            <label htmlFor="f-result" className={labelClass}>
              Result
            </label>
            <select id="f-result" name="result" defaultValue="" className={inputClass}>
              <option value="">any</option>
              {AUDIT_RESULTS.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="f-from" className={labelClass}>
              From
            </label>
            <input id="f-from" name="from" type="datetime-local" className={inputClass} />
          </div>
          <div>
            <label htmlFor="f-to" className={labelClass}>
              To
            </label>
            <input id="f-to" name="to" type="datetime-local" className={inputClass} />
          </div>
          <div className="flex gap-2">
            <Button type="submit" variant="primary" data-testid="audit-apply">
              Apply
            </Button>
            <Button type="reset" variant="ghost">
              Clear
            </Button>
          </div>
        </form>
      </Panel>
      <Panel title="Events" bodyClassName="overflow-x-auto">
        {audit.isError ? (
          <div className="p-4">
            <QueryError error={audit.error} what="the audit trail" onRetry={() => audit.refetch()} retrying={audit.isFetching} />
          </div>
        ) : audit.isPending ? (
          <p className="p-4 text-sm text-slate-500">Loading…</p>
        ) : rows.length === 0 ? (
          <p className="p-4 text-sm text-slate-500" data-testid="audit-empty">
            No events match.
          </p>
        ) : (
          <table className="w-full text-sm" data-testid="audit-table">
            <thead className="border-b border-slate-100 dark:border-slate-800">
              <tr>
                <th className={th}>Time</th>
                <th className={th}>Actor</th>
                <th className={th}>Action</th>
                <th className={th}>Target</th>
                <th className={th}>Result</th>
                <th className={th}>From</th>
                <th className={th}>Details</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {rows.map((e) => (
                <tr key={e.id} data-testid="audit-row" data-action={e.action} data-result={e.result}>
                  <td className={`${td} whitespace-nowrap text-slate-500 dark:text-slate-400`}>{formatDateTime(e.at)}</td>
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
              ))}
            </tbody>
          </table>
        )}
        {audit.hasNextPage ? (
          <div className="border-t border-slate-100 p-3 text-center dark:border-slate-800">
            <Button size="sm" onClick={() => audit.fetchNextPage()} busy={audit.isFetchingNextPage}>
              Load older
            </Button>
          </div>
        ) : null}
      </Panel>
    </div>
  );
}
