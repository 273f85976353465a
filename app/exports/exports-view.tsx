"use client";
// The running qemu-nbd processes: pid, uptime, file, URI, and Stop.
import Link from "next/link";
import type { Export, ExportList } from "@/lib/queries/types";
import { useExports } from "@/lib/queries/use-exports";
import { ButtonLink } from "../components/button";
import { CopyButton } from "../components/copy-button";
import { listLink, listTd as td, figures, ACTIONS } from "../components/data-table";
import { formatDuration } from "../components/format";
import { PlusIcon } from "../components/icons";
import { ListView, type ListSpec } from "../components/list-view";
import { ExportStatusBadge } from "../components/status-badge";
import { useNow } from "../components/use-now";
import { ownerHref } from "../restores/owner-href";
import { StopExportButton } from "./stop-export-button";

/** The rows come with the view's clock (`row` is set there): uptimes tick together. */
const EXPORTS: Omit<ListSpec<ExportList, Export>, "row"> = {
  noun: "exports",
  columns: ["Port", "VM / disk", "Status", figures("PID"), figures("Uptime"), "File", "URI", ACTIONS],
  minWidth: "min-w-[900px]",
  empty: {
    icon: "process",
    title: "No qemu-nbd is running",
    action: (
      <ButtonLink href="/jobs/new" variant="primary" icon={<PlusIcon />}>
        New backup
      </ButtonLink>
    ),
    children:
      "Exports start by themselves when a backup runs: each disk gets a port and a qemu-nbd serving its target " +
      "file, stopped again once the disk is copied and verified.",
  },
  rowsOf: (data) => data.processes,
};

function ExportRow({ exp: e, now }: { exp: Export; now: number }) {
  return (
    <tr data-testid="export-row" data-port={e.port}>
      <td className={`${td} font-mono font-medium tabular-nums`}>{e.port}</td>
      <td className={`${td} max-w-[14rem]`}>
        <Link href={ownerHref(e.jobId, e.ownerKind)} className={`block truncate ${listLink}`} title={e.vmName}>
          {e.vmName}
        </Link>
        <span className="text-xs text-slate-500 dark:text-slate-400">
          disk {e.diskId}
          {e.ownerKind === "restore" ? <span data-testid="export-owner"> · a restore&apos;s (read-only)</span> : null}
        </span>
      </td>
      <td className={td}>
        <ExportStatusBadge status={e.status} />
      </td>
      <td className={`${td} text-right font-mono tabular-nums`}>{e.pid ?? "—"}</td>
      <td className={`${td} text-right tabular-nums`}>
        {formatDuration((now - new Date(e.startedAt).getTime()) / 1000)}
      </td>
      <td className={`${td} max-w-[16rem]`}>
        <div className="flex items-center gap-1">
          <span className="truncate font-mono text-xs text-slate-600 dark:text-slate-300" title={e.filePath} dir="rtl">
            <bdi>{e.filePath}</bdi>
          </span>
          <CopyButton value={e.filePath} label="Copy file path" />
        </div>
      </td>
      <td className={`${td} max-w-[20rem]`}>
        <div className="flex items-center gap-1">
          <span className="truncate font-mono text-xs" title={e.uri}>
            {e.uri}
          </span>
          <CopyButton value={e.uri} label="Copy URI" />
        </div>
      </td>
      <td className={`${td} text-right`}>
        <StopExportButton exp={e} />
      </td>
    </tr>
  );
}

export function ExportsView() {
  const exports = useExports();
  const now = useNow();
  return <ListView query={exports} spec={{ ...EXPORTS, row: (e) => <ExportRow key={e.port} exp={e} now={now} /> }} />;
}
