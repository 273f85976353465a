"use client";
// qemu-nbd processes running now, compact; the Exports page has the full table and Stop.
import Link from "next/link";
import { useExports } from "@/lib/queries/use-exports";
import { RUNNING_EXPORT_STATUSES } from "@/lib/queries/types";
import { formatDuration } from "../format";
import { jobHref } from "../hrefs";
import { MoreLink } from "../arrow-link";
import { Panel } from "../panel";
import { QueryBody, Skeleton } from "../query-body";
import { ExportStatusBadge } from "../status-badge";
import { useNow } from "../use-now";

export function RunningExports() {
  const exports = useExports();
  const now = useNow();
  const running = exports.data?.processes.filter((p) => RUNNING_EXPORT_STATUSES.includes(p.status)) ?? [];
  return (
    <Panel
      id="running-exports"
      testId="running-exports"
      title="Running exports"
      description="qemu-nbd processes serving backup targets"
      bodyClassName=""
      className="h-full"
      actions={<MoreLink href="/exports">Manage</MoreLink>}
    >
      <QueryBody
        query={exports}
        what="the exports"
        compact
        loading={<Skeleton />}
        isEmpty={() => running.length === 0}
        empty={
          <p className="p-4 text-sm text-slate-500 dark:text-slate-400">
            No qemu-nbd is running. Each disk of a backup gets one while it is copied.
          </p>
        }
      >
        {() => (
          <table className="w-full text-sm">
            <thead className="text-left text-xs text-slate-500 dark:text-slate-400">
              <tr>
                <th scope="col" className="px-4 py-2 font-medium">
                  Port
                </th>
                <th scope="col" className="px-4 py-2 font-medium">
                  VM / disk
                </th>
                <th scope="col" className="px-4 py-2 font-medium">
                  Status
                </th>
                <th scope="col" className="px-4 py-2 text-right font-medium">
                  Uptime
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {running.slice(0, 8).map((p) => (
                <tr key={p.port}>
                  <td className="px-4 py-2 font-mono tabular-nums">{p.port}</td>
                  <td className="px-4 py-2">
                    <Link
                      href={jobHref(p.jobId)}
                      className="hover:underline focus-visible:outline-2 focus-visible:outline-sky-600"
                    >
                      {p.vmName}
                    </Link>
                    <span className="text-slate-400"> / {p.diskId}</span>
                  </td>
                  <td className="px-4 py-2">
                    <ExportStatusBadge status={p.status} />
                  </td>
                  <td className="px-4 py-2 text-right tabular-nums text-slate-600 dark:text-slate-300">
                    {formatDuration((now - new Date(p.startedAt).getTime()) / 1000)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryBody>
    </Panel>
  );
}
