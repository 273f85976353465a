"use client";
// The restores list: what was restored, how, on which node, by whom, and how it stands.
import Link from "next/link";
import type { Restore, RestorePage } from "@/lib/queries/restore-types";
import { useRestores } from "@/lib/queries/use-restores";
import { ButtonLink } from "../components/button";
import { listTd as td } from "../components/data-table";
import { formatDateTime } from "../components/format";
import { jobHref, restoreHref } from "../components/hrefs";
import { ListView, type ListSpec } from "../components/list-view";
import { NodeName } from "../components/node-select";
import { RestoreStatusBadge } from "./restore-status-badge";

const RESTORES: ListSpec<RestorePage, Restore> = {
  noun: "restores",
  columns: ["VM", "Mode", "Status", "Node", "Point", "Started", "By"],
  minWidth: "min-w-[760px]",
  empty: {
    icon: "disk",
    title: "No restores yet",
    action: <ButtonLink href="/vms">Browse restore points</ButtonLink>,
    children: "Pick a VM and one of its restore points to serve it over NBD or copy it back.",
  },
  rowsOf: (data) => data.items,
  row: (r) => <RestoreRow key={r.id} restore={r} />,
};

function RestoreRow({ restore: r }: { restore: Restore }) {
  return (
    <tr data-testid="restore-row">
      <td className={td}>
        <Link
          href={restoreHref(r.id)}
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
      <td className={td}>
        <NodeName node={r.node} />
      </td>
      <td className={`${td} font-mono text-xs`}>
        <Link href={jobHref(r.jobId)} className="hover:underline">
          {r.jobId}
        </Link>
      </td>
      <td className={td}>{formatDateTime(r.createdAt)}</td>
      <td className={td}>{r.requestedBy ?? "—"}</td>
    </tr>
  );
}

export function RestoresView() {
  return <ListView query={useRestores()} spec={RESTORES} />;
}
