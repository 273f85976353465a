"use client";
// The Policies page: the list (schedule, next run, last run and its status, enable/disable,
// Run now, Prune), the create/edit form, and the prune preview of the chosen policy.
import Link from "next/link";
import { useState } from "react";
import { ApiClientError } from "@/lib/queries/api-fetch";
import { usePolicies, usePolicyAction, usePrunePreview, type Policy } from "@/lib/queries/use-policies";
import { Button } from "../components/button";
import { formatDateTime } from "../components/format";
import { jobHref } from "../components/hrefs";
import { Panel } from "../components/panel";
import { PolicyForm } from "./policy-form";

function LastRun({ policy }: { policy: Policy }) {
  const run = policy.lastRun;
  if (!run) return <span className="text-slate-500">never</span>;
  const status = run.status === "started" ? (run.jobStatus ?? "started") : run.status.replace(/_/g, " ");
  return (
    <span title={run.reason ?? undefined}>
      {formatDateTime(run.at)} ·{" "}
      {run.jobId ? (
        <Link className="text-sky-700 underline dark:text-sky-400" href={jobHref(run.jobId)}>
          {status}
        </Link>
      ) : (
        status
      )}
      {run.jobType ? ` (${run.jobType})` : ""}
    </span>
  );
}

function Preview({ policy }: { policy: Policy }) {
  const preview = usePrunePreview(policy.id);
  if (preview.isPending) return <p className="text-sm text-slate-500">Reading the restore points…</p>;
  if (preview.error) return <p className="text-sm text-rose-600">{preview.error.message}</p>;
  const { keep, remove, merged, skipped } = preview.data;
  return (
    <div className="grid gap-4 md:grid-cols-2 text-sm" data-testid="prune-preview">
      <div>
        <h3 className="font-medium">Kept ({keep.length})</h3>
        <ul className="mt-1 space-y-1">
          {keep.map((k) => (
            <li key={k.jobId}>
              <code>{k.jobId}</code> on {k.node}: {k.reasons.join("; ")}
            </li>
          ))}
        </ul>
      </div>
      <div>
        <h3 className="font-medium">Removed ({remove.length})</h3>
        {remove.length === 0 ? (
          <p className="text-slate-500">nothing</p>
        ) : (
          <ul className="mt-1 space-y-1">
            {remove.map((r) => (
              <li key={r.jobId}>
                <code>{r.jobId}</code> on {r.node}: {r.reason}
                {merged.includes(r.jobId) ? " (merged into a kept point)" : ""}
              </li>
            ))}
          </ul>
        )}
      </div>
      {skipped.length > 0 && (
        <div className="md:col-span-2" data-testid="prune-skipped">
          <h3 className="font-medium">Left alone</h3>
          <ul className="mt-1 space-y-1">
            {skipped.map((s) => (
              <li key={s.node}>
                {s.node}: {s.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

export function PoliciesView() {
  const policies = usePolicies();
  const action = usePolicyAction();
  const [form, setForm] = useState<{ editing: Policy | null } | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const items = policies.data?.items ?? [];
  const selected = items.find((p) => p.id === chosen) ?? null;
  const actionError = action.error instanceof ApiClientError ? action.error.message : null;

  return (
    <div className="space-y-6">
      <Panel
        title="Policies"
        actions={
          <Button variant="primary" onClick={() => setForm({ editing: null })}>
            New policy
          </Button>
        }
      >
        {actionError ? (
          <p role="alert" className="mb-2 text-sm text-rose-600">
            {actionError}
          </p>
        ) : null}
        {items.length === 0 ? (
          <p className="text-sm text-slate-500">No policy yet.</p>
        ) : (
          <table className="w-full text-left text-sm">
            <thead>
              <tr className="text-slate-500">
                <th>Name</th>
                <th>VM</th>
                <th>Schedule</th>
                <th>Next run</th>
                <th>Last run</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr
                  key={p.id}
                  className="border-t border-slate-100 dark:border-slate-800"
                  data-testid={`policy-${p.name}`}
                >
                  <td className="py-2 font-medium">{p.name}</td>
                  <td>{p.vmName}</td>
                  <td>
                    <code>{p.schedule}</code> <span className="text-slate-500">{p.timezone}</span>
                  </td>
                  <td>{p.enabled ? formatDateTime(p.nextRunAt) : <span className="text-slate-500">disabled</span>}</td>
                  <td>
                    <LastRun policy={p} />
                  </td>
                  <td className="flex flex-wrap gap-1 py-2">
                    <Button size="sm" onClick={() => action.mutate({ id: p.id, action: "run" })}>
                      Run now
                    </Button>
                    <Button
                      size="sm"
                      onClick={() => action.mutate({ id: p.id, action: p.enabled ? "disable" : "enable" })}
                    >
                      {p.enabled ? "Disable" : "Enable"}
                    </Button>
                    <Button size="sm" onClick={() => setForm({ editing: p })}>
                      Edit
                    </Button>
                    <Button size="sm" onClick={() => setChosen(p.id)}>
                      Prune preview
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Panel>
      {form ? (
        <Panel title={form.editing ? `Edit ${form.editing.name}` : "New policy"}>
          <PolicyForm key={form.editing?.id ?? "new"} editing={form.editing} onDone={() => setForm(null)} />
        </Panel>
      ) : null}
      {selected ? (
        <Panel
          title={`Prune preview: ${selected.name} (VM ${selected.vmName})`}
          actions={
            <Button variant="danger" size="sm" onClick={() => action.mutate({ id: selected.id, action: "prune" })}>
              Prune now
            </Button>
          }
        >
          <Preview policy={selected} />
        </Panel>
      ) : null}
    </div>
  );
}
