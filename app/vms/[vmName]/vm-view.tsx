"use client";
// One VM: a timeline of its restore points, newest first; per point, one row per disk showing
// the chain it reads through (this file, then its backing files), and Restore.
import Link from "next/link";
import { BackLink } from "../../components/arrow-link";
import { useRestorePoints } from "@/lib/queries/use-restore-points";
import { formatBytes } from "@/lib/format";
import { formatDateTime } from "../../components/format";
import { jobHref } from "../../components/hrefs";
import { QueryError } from "../../components/query-error";
import { StatusBadge } from "../../components/status-badge";
import { RestoreLink } from "../../restores/restore-link";

const base = (p: string) => p.split("/").pop() ?? p;

export function VmView({ vmName }: { vmName: string }) {
  const points = useRestorePoints(vmName);
  return (
    <div className="space-y-6">
      <div className="space-y-3">
        <BackLink href="/vms">VMs</BackLink>
        <h1 className="text-2xl font-semibold tracking-tight">{vmName}</h1>
      </div>
      {points.isError && !points.data ? (
        <QueryError error={points.error} what="this VM's restore points" onRetry={() => points.refetch()} />
      ) : null}
      {!points.data ? (
        points.isError ? null : (
          <div className="h-40 animate-pulse rounded-xl bg-slate-200/70 dark:bg-slate-800/60" aria-busy="true" />
        )
      ) : (
        <ol
          className="relative space-y-4 border-l border-slate-200 pl-6 dark:border-slate-800"
          data-testid="restore-points"
        >
          {points.data.items.map((p) => (
            <li key={p.jobId} className="relative" data-testid="restore-point" data-job-id={p.jobId}>
              <span
                aria-hidden
                className="absolute top-5 -left-[1.83rem] h-3 w-3 rounded-full bg-sky-500 ring-4 ring-white dark:ring-slate-950"
              />
              <div className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900">
                <div className="flex flex-wrap items-center justify-between gap-3">
                  <div className="flex flex-wrap items-center gap-2">
                    <span className="font-medium">{formatDateTime(p.completedAt)}</span>
                    <StatusBadge status={p.type} tone={p.type === "full" ? "info" : "neutral"} />
                    {p.verified ? <StatusBadge status="verified" tone="success" /> : null}
                    <Link href={jobHref(p.jobId)} className="font-mono text-xs text-slate-500 hover:underline">
                      {p.jobId}
                    </Link>
                  </div>
                  <RestoreLink jobId={p.jobId} size="sm" testId="restore-point-button" />
                </div>
                <table className="mt-3 w-full text-sm">
                  <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                    {p.disks.map((d) => (
                      <tr key={d.diskId}>
                        <td className="w-24 py-2 pr-3 font-mono text-xs font-medium">{d.diskId}</td>
                        <td className="py-2 pr-3">
                          <div
                            className="flex flex-wrap items-center gap-1 font-mono text-xs text-slate-600 dark:text-slate-300"
                            title={d.chain.join(" → ")}
                          >
                            {d.chain.map((f, i) => (
                              <span key={f} className="inline-flex items-center gap-1">
                                {i > 0 ? (
                                  <span aria-hidden className="text-slate-400">
                                    →
                                  </span>
                                ) : null}
                                <span
                                  className={`rounded px-1.5 py-0.5 ${i === 0 ? "bg-sky-50 text-sky-800 dark:bg-sky-400/10 dark:text-sky-300" : "bg-slate-100 dark:bg-slate-800"}`}
                                >
                                  {base(f)}
                                </span>
                              </span>
                            ))}
                          </div>
                        </td>
                        <td className="w-40 py-2 text-right text-xs text-slate-500 tabular-nums">
                          {formatBytes(d.virtualSize)} · {formatBytes(d.actualSize)} on disk
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
