"use client";
// The VMs table: last backup and its status, restore points, bytes in the repository.
import Link from "next/link";
import type { JobStatus } from "@/lib/queries/types";
import { useVms } from "@/lib/queries/use-vms";
import { EmptyState } from "../components/empty-state";
import { formatBytes } from "@/lib/format";
import { formatDateTime } from "../components/format";
import { DiskIcon } from "../components/icons";
import { QueryError } from "../components/query-error";
import { JobStatusBadge } from "../components/status-badge";

const th = "px-4 py-2.5 text-left text-xs font-medium tracking-wide text-slate-500 uppercase dark:text-slate-400";
const td = "px-4 py-3 align-middle";

export function VmsView() {
  const vms = useVms();
  if (vms.isError && !vms.data)
    return <QueryError error={vms.error} what="the VMs" onRetry={() => vms.refetch()} retrying={vms.isFetching} />;
  const list = vms.data?.items ?? [];
  return (
    <div className="overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
      {!vms.data ? (
        <div
          className="m-4 h-32 animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800/60"
          aria-busy="true"
          aria-label="Loading VMs"
        />
      ) : list.length === 0 ? (
        <EmptyState icon={<DiskIcon className="h-5 w-5" />} title="No restore points yet">
          A VM shows here once one of its backups completed.
        </EmptyState>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full min-w-[720px] text-sm" data-testid="vms-table">
            <thead className="border-b border-slate-200 bg-slate-50/80 dark:border-slate-800 dark:bg-slate-900">
              <tr>
                <th scope="col" className={th}>
                  VM
                </th>
                <th scope="col" className={th}>
                  Disks
                </th>
                <th scope="col" className={th}>
                  Last backup
                </th>
                <th scope="col" className={`${th} text-right`}>
                  Restore points
                </th>
                <th scope="col" className={`${th} text-right`}>
                  In the repository
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {list.map((vm) => (
                <tr key={vm.vmName} data-testid="vm-row">
                  <td className={td}>
                    <Link
                      href={`/vms/${encodeURIComponent(vm.vmName)}`}
                      className="font-medium hover:text-sky-700 hover:underline focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:text-sky-400"
                    >
                      {vm.vmName}
                    </Link>
                  </td>
                  <td className={`${td} font-mono text-xs`}>{vm.disks.join(", ")}</td>
                  <td className={td}>
                    <div className="flex items-center gap-2">
                      <JobStatusBadge status={vm.lastStatus as JobStatus} />
                      <span className="text-slate-600 dark:text-slate-300">{formatDateTime(vm.lastBackupAt)}</span>
                    </div>
                  </td>
                  <td className={`${td} text-right tabular-nums`}>{vm.restorePoints}</td>
                  <td className={`${td} text-right tabular-nums`}>{formatBytes(vm.repositoryBytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
