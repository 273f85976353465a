"use client";
// The running qemu-nbd processes of every node, or of the node in the URL (?node=): node, pid,
// uptime, file, URI, and Stop.
import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import type { Export, ExportList } from "@/lib/queries/types";
import { useExports } from "@/lib/queries/use-exports";
import { Button, ButtonLink } from "../components/button";
import { CopyButton } from "../components/copy-button";
import { listLink, listTd as td, figures, ACTIONS } from "../components/data-table";
import { formatDuration } from "../components/format";
import { PlusIcon } from "../components/icons";
import type { EmptyStateProps } from "../components/empty-state";
import { ListView, type ListSpec } from "../components/list-view";
import { NodeName, NodeSelect } from "../components/node-select";
import { ExportStatusBadge } from "../components/status-badge";
import { useNow } from "../components/use-now";
import { ownerHref } from "../restores/owner-href";
import { StopExportButton } from "./stop-export-button";

/** The rows come with the view's clock (`row` is set there): uptimes tick together. */
const EXPORTS: Omit<ListSpec<ExportList, Export>, "row" | "empty"> = {
  noun: "exports",
  columns: ["Port", "VM / disk", "Status", "Node", figures("PID"), figures("Uptime"), "File", "URI", ACTIONS],
  minWidth: "min-w-[980px]",
  rowsOf: (data) => data.processes,
};

const NONE_RUNNING: EmptyStateProps = {
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
};

const noneOn = (node: string, clear: () => void): EmptyStateProps => ({
  icon: "process",
  title: `No qemu-nbd is running on ${node}`,
  action: <Button onClick={clear}>All nodes</Button>,
  children: "Exports run on the node whose backup or restore they serve.",
});

function ExportRow({ exp: e, now }: { exp: Export; now: number }) {
  return (
    <tr data-testid="export-row" data-port={e.port} data-node={e.node}>
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
      <td className={td} data-testid="export-row-node">
        <NodeName node={e.node} />
      </td>
      <td className={`${td} text-right font-mono tabular-nums`}>{e.pid ?? "—"}</td>
      <td className={`${td} text-right tabular-nums`}>
        {formatDuration((now - new Date(e.startedAt).getTime()) / 1000)}
      </td>
      <td className={`${td} max-w-[14rem]`}>
        <div className="flex items-center gap-1">
          <span className="truncate font-mono text-xs text-slate-600 dark:text-slate-300" title={e.filePath} dir="rtl">
            <bdi>{e.filePath}</bdi>
          </span>
          <CopyButton value={e.filePath} label="Copy file path" />
        </div>
      </td>
      <td className={`${td} max-w-[17rem]`}>
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
  const search = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const node = search.get("node") || undefined;
  const setNode = (next: string | undefined) =>
    router.replace(next ? `${pathname}?node=${encodeURIComponent(next)}` : pathname, { scroll: false });
  const exports = useExports({ node });
  const now = useNow();
  return (
    <div className="space-y-4">
      <form role="search" aria-label="Filter exports" onSubmit={(e) => e.preventDefault()} className="flex gap-3">
        <NodeSelect id="filter-node" value={node} onChange={setNode} />
      </form>
      <ListView
        query={exports}
        spec={{
          ...EXPORTS,
          empty: node ? noneOn(node, () => setNode(undefined)) : NONE_RUNNING,
          // Two nodes may serve the same port number: the row's key is both.
          row: (e) => <ExportRow key={`${e.node}:${e.port}`} exp={e} now={now} />,
        }}
      />
    </div>
  );
}
