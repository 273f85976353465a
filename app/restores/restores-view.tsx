"use client";
// The restores list: what was restored, how, by whom, and how it stands.
import Link from "next/link";
import { useRestores } from "@/lib/queries/use-restores";
import { ButtonLink } from "../components/button";
import { listTd as td, type Column } from "../components/data-table";
import { EmptyState } from "../components/empty-state";
import { formatDateTime } from "../components/format";
import { DiskIcon } from "../components/icons";
import { ListView } from "../components/list-view";
import { RestoreStatusBadge } from "./restore-status-badge";

const COLUMNS: Column[] = ["VM", "Mode", "Status", "Point", "Started", "By"];

export function RestoresView() {
  const restores = useRestores();
  return (
    <ListView
      query={restores}
      what="the restores"
      rowsOf={(data) => data.items}
      loading="Loading restores"
      empty={
        <EmptyState
          icon={<DiskIcon className="h-5 w-5" />}
          title="No restores yet"
          action={<ButtonLink href="/vms">Browse restore points</ButtonLink>}
        >
          Pick a VM and one of its restore points to serve it over NBD or copy it back.
        </EmptyState>
      }
      testId="restores-table"
      columns={COLUMNS}
      minWidth="min-w-[760px]"
    >
      {(r) => (
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
      )}
    </ListView>
  );
}
