"use client";
// The VMs table: last backup and its status, restore points, bytes in the repository.
import Link from "next/link";
import type { JobStatus } from "@/lib/queries/types";
import { useVms } from "@/lib/queries/use-vms";
import { listTd as td, type Column } from "../components/data-table";
import { EmptyState } from "../components/empty-state";
import { formatBytes } from "@/lib/format";
import { formatDateTime } from "../components/format";
import { DiskIcon } from "../components/icons";
import { ListView } from "../components/list-view";
import { JobStatusBadge } from "../components/status-badge";

const COLUMNS: Column[] = [
  "VM",
  "Disks",
  "Last backup",
  { label: "Restore points", right: true },
  { label: "In the repository", right: true },
];

export function VmsView() {
  const vms = useVms();
  return (
    <ListView
      query={vms}
      what="the VMs"
      rowsOf={(data) => data.items}
      loading="Loading VMs"
      empty={
        <EmptyState icon={<DiskIcon className="h-5 w-5" />} title="No restore points yet">
          A VM shows here once one of its backups completed.
        </EmptyState>
      }
      testId="vms-table"
      columns={COLUMNS}
      minWidth="min-w-[720px]"
    >
      {(vm) => (
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
      )}
    </ListView>
  );
}
