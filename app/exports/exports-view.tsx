"use client";
// The running qemu-nbd processes: pid, uptime, file, URI, and Stop.
import Link from "next/link";
import { useExports } from "@/lib/queries/use-exports";
import { ButtonLink } from "../components/button";
import { CopyButton } from "../components/copy-button";
import { EmptyState } from "../components/empty-state";
import { formatDuration } from "../components/format";
import { PlusIcon, ProcessIcon } from "../components/icons";
import { QueryError } from "../components/query-error";
import { ExportStatusBadge } from "../components/status-badge";
import { useNow } from "../components/use-now";
import { ownerHref } from "../restores/owner-href";
import { StopExportButton } from "./stop-export-button";

const th = "px-4 py-2.5 text-left text-xs font-medium tracking-wide text-slate-500 uppercase dark:text-slate-400";
const td = "px-4 py-3 align-middle";

export function ExportsView() {
  const exports = useExports();
  const now = useNow();
  if (exports.isError && !exports.data)
    return (
      <QueryError
        error={exports.error}
        what="the exports"
        onRetry={() => exports.refetch()}
        retrying={exports.isFetching}
      />
    );
  const list = exports.data?.processes ?? [];
  return (
    <div className="overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
      {!exports.data ? (
        <div
          className="m-4 h-32 animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800/60"
          aria-busy="true"
          aria-label="Loading exports"
        />
      ) : list.length === 0 ? (
        <EmptyState
          icon={<ProcessIcon className="h-5 w-5" />}
          title="No qemu-nbd is running"
          action={
            <ButtonLink href="/jobs/new" variant="primary" icon={<PlusIcon />}>
              New backup
            </ButtonLink>
          }
        >
          Exports start by themselves when a backup runs: each disk gets a port and a qemu-nbd serving its target file,
          stopped again once the disk is copied and verified.
        </EmptyState>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full min-w-[900px] text-sm" data-testid="exports-table">
            <thead className="border-b border-slate-200 bg-slate-50/80 dark:border-slate-800 dark:bg-slate-900">
              <tr>
                <th scope="col" className={th}>
                  Port
                </th>
                <th scope="col" className={th}>
                  VM / disk
                </th>
                <th scope="col" className={th}>
                  Status
                </th>
                <th scope="col" className={`${th} text-right`}>
                  PID
                </th>
                <th scope="col" className={`${th} text-right`}>
                  Uptime
                </th>
                <th scope="col" className={th}>
                  File
                </th>
                <th scope="col" className={th}>
                  URI
                </th>
                <th scope="col" className={th}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {list.map((e) => (
                <tr key={e.port} data-testid="export-row" data-port={e.port}>
                  <td className={`${td} font-mono font-medium tabular-nums`}>{e.port}</td>
                  <td className={`${td} max-w-[14rem]`}>
                    <Link
                      href={ownerHref(e.jobId, e.ownerKind)}
                      className="block truncate font-medium hover:text-sky-700 hover:underline focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:text-sky-400"
                      title={e.vmName}
                    >
                      {e.vmName}
                    </Link>
                    <span className="text-xs text-slate-500 dark:text-slate-400">
                      disk {e.diskId}
                      {e.ownerKind === "restore" ? (
                        <span data-testid="export-owner"> · a restore&apos;s (read-only)</span>
                      ) : null}
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
                      <span
                        className="truncate font-mono text-xs text-slate-600 dark:text-slate-300"
                        title={e.filePath}
                        dir="rtl"
                      >
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
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
