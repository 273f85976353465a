"use client";
// The VMs table: last backup and its status, restore points, bytes in the repository.
import Link from "next/link";
import { formatBytes } from "@/lib/format";
import type { VmSummary } from "@/lib/queries/restore-types";
import type { JobStatus } from "@/lib/queries/types";
import { useVms } from "@/lib/queries/use-vms";
import { listLink, listTd as td, figures } from "../components/data-table";
import { formatDateTime } from "../components/format";
import { vmHref } from "../components/hrefs";
import { ListView, type ListSpec } from "../components/list-view";
import { JobStatusBadge } from "../components/status-badge";

const VMS: ListSpec<{ items: VmSummary[] }, VmSummary> = {
  noun: "VMs",
  columns: ["VM", "Disks", "Last backup", figures("Restore points"), figures("In the repository")],
  minWidth: "min-w-[720px]",
  empty: {
    icon: "disk",
    title: "No restore points yet",
    children: "A VM shows here once one of its backups completed.",
  },
  rowsOf: (data) => data.items,
  row: (vm) => <VmRow key={vm.vmName} vm={vm} />,
};

function VmRow({ vm }: { vm: VmSummary }) {
  return (
    <tr data-testid="vm-row">
      <td className={td}>
        <Link href={vmHref(vm.vmName)} className={listLink}>
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
  );
}

export function VmsView() {
  return <ListView query={useVms()} spec={VMS} />;
}
