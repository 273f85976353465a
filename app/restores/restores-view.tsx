"use client";
// The restores list: what was restored, how, by whom, and how it stands.
import Link from "next/link";
import { useRestores } from "@/lib/queries/use-restores";
import { ButtonLink } from "../components/button";
import { EmptyState } from "../components/empty-state";
import { formatDateTime } from "../components/format";
import { DiskIcon } from "../components/icons";
import { QueryError } from "../components/query-error";
import { RestoreStatusBadge } from "./restore-status-badge";

const th = "px-4 py-2.5 text-left text-xs font-medium tracking-wide text-slate-500 uppercase dark:text-slate-400";
const td = "px-4 py-3 align-middle";

export function RestoresView() {
  const restores = useRestores();
  if (restores.isError && !restores.data)
    return <QueryError error={restores.error} what="the restores" onRetry={() => restores.refetch()} />;
  const list = restores.data?.items ?? [];
  return (
    <div className="overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
      {!restores.data ? (
        <div
          className="m-4 h-32 animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800/60"
          aria-busy="true"
          aria-label="Loading restores"
        />
      ) : list.length === 0 ? (
        <EmptyState
          icon={<DiskIcon className="h-5 w-5" />}
          title="No restores yet"
          action={<ButtonLink href="/vms">Browse restore points</ButtonLink>}
        >
          Pick a VM and one of its restore points to serve it over NBD or copy it back.
        </EmptyState>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full min-w-[760px] text-sm" data-testid="restores-table">
            <thead className="border-b border-slate-200 bg-slate-50/80 dark:border-slate-800 dark:bg-slate-900">
              <tr>
                <th scope="col" className={th}>
                  VM
                </th>
                <th scope="col" className={th}>
                  Mode
                </th>
                <th scope="col" className={th}>
                  Status
                </th>
                <th scope="col" className={th}>
                  Point
                </th>
                <th scope="col" className={th}>
                  Started
                </th>
                <th scope="col" className={th}>
                  By
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {list.map((r) => (
                <tr key={r.id} data-testid="restore-row">
                  <td className={td}>
                    <Link
                      href={`/restores/${encodeURIComponent(r.id)}`}
                      className="font-medium hover:text-sky-700 hover:underline dark:hover:text-sky-400"
                    >
                      {r.vmName}
                    </Link>
                    <div className="font-mono text-xs text-slate-500">{r.disks.map((d) => d.diskId).join(", ")}</div>
                  </td>
                  <td className={`${td} capitalize`}>{r.mode}</td>
                  <td className={td}>
                    <RestoreStatusBadge status={r.status} />
                  </td>
                  <td className={`${td} font-mono text-xs`}>
                    <Link href={`/jobs/${encodeURIComponent(r.jobId)}`} className="hover:underline">
                      {r.jobId}
                    </Link>
                  </td>
                  <td className={td}>{formatDateTime(r.createdAt)}</td>
                  <td className={td}>{r.requestedBy ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
