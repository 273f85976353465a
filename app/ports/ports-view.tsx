"use client";
// The whole port range of the answering node as a grid, coloured by state; a port's job on hover
// (title) or click. Other nodes' pools are on their own consoles (linked, from GET /nodes).
import Link from "next/link";
import { useMemo, useState } from "react";
import { useExports } from "@/lib/queries/use-exports";
import { useNodes } from "@/lib/queries/use-nodes";
import { usePorts } from "@/lib/queries/use-ports";
import { CopyButton } from "../components/copy-button";
import { formatDateTime, formatDuration, percent } from "../components/format";
import { Panel } from "../components/panel";
import { ProgressBar } from "../components/progress-bar";
import { QueryFailure } from "../components/query-body";
import { QueryError } from "../components/query-error";
import { ExportStatusBadge, NodeStatusBadge } from "../components/status-badge";
import { Term } from "../components/term";
import { useNow } from "../components/use-now";
import { isRestoreOwner, ownerHref } from "../restores/owner-href";
import { CRASH_VISIBLE_SECONDS, PORT_STATES, describePort, portMap, stateStyle, type PortInfo } from "./port-state";

const DETAIL = "mt-0.5 flex min-w-0 items-center gap-1 text-sm break-words";

function Detail(props: { label: string; children: React.ReactNode }) {
  return <Term {...props} className="min-w-0" valueClassName={DETAIL} />;
}

function PortDetails({ info, now }: { info: PortInfo | undefined; now: number }) {
  if (!info)
    return (
      <p className="text-sm text-slate-500 dark:text-slate-400">
        Select a port to see which job holds it and what it exports. Hover a port for a quick look.
      </p>
    );
  const style = stateStyle(info.state);
  const holder = info.allocation ?? info.export;
  return (
    <div className="space-y-4" data-testid="port-details">
      <div className="flex items-center gap-3">
        <span className="font-mono text-2xl font-semibold tabular-nums">{info.port}</span>
        <span className="inline-flex items-center gap-1.5 text-sm font-medium">
          <span aria-hidden className={`h-3 w-3 rounded-sm ${style.swatch}`} />
          {style.label}
        </span>
      </div>
      {!holder ? (
        <p className="text-sm text-slate-500 dark:text-slate-400">Free: the next backup disk may get this port.</p>
      ) : (
        <dl className="grid grid-cols-2 gap-x-4 gap-y-3">
          <Detail label="VM">{holder.vmName}</Detail>
          <Detail label={isRestoreOwner(holder.jobId, info.export?.ownerKind) ? "Restore" : "Job"}>
            <Link
              href={ownerHref(holder.jobId, info.export?.ownerKind)}
              className="truncate font-mono text-xs text-sky-700 hover:underline focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-sky-400"
            >
              {holder.jobId}
            </Link>
          </Detail>
          <Detail label="Export name">
            <span className="truncate font-mono text-xs" title={info.allocation?.exportName ?? info.export?.exportName}>
              {info.allocation?.exportName ?? info.export?.exportName}
            </span>
          </Detail>
          {info.allocation ? <Detail label="Allocated">{formatDateTime(info.allocation.allocatedAt)}</Detail> : null}
          {info.export ? (
            <>
              <Detail label="Export">
                <ExportStatusBadge status={info.export.status} />
              </Detail>
              <Detail label="PID">
                <span className="font-mono">{info.export.pid ?? "—"}</span>
              </Detail>
              <Detail label="Disk">{info.export.diskId}</Detail>
              {info.export.stoppedAt ? (
                <Detail label="Ended">{formatDateTime(info.export.stoppedAt)}</Detail>
              ) : (
                <Detail label="Uptime">
                  {formatDuration((now - new Date(info.export.startedAt).getTime()) / 1000)}
                </Detail>
              )}
              {info.export.error ? (
                <div className="col-span-2">
                  <Detail label="Error">
                    <span className="text-xs break-words">{info.export.error}</span>
                  </Detail>
                </div>
              ) : null}
              <div className="col-span-2">
                <Detail label="URI">
                  <span className="font-mono text-xs break-all">{info.export.uri}</span>
                  <CopyButton value={info.export.uri} label="Copy URI" />
                </Detail>
              </div>
              <div className="col-span-2">
                <Detail label="File">
                  <span className="font-mono text-xs break-all">{info.export.filePath}</span>
                </Detail>
              </div>
            </>
          ) : null}
        </dl>
      )}
    </div>
  );
}

/** A node's console: its API URL without the /api/v1. */
const consoleOf = (apiUrl: string) => apiUrl.replace(/\/api\/v1\/?$/, "");

/** Which node's pool this is, and where the other nodes' pools are. */
function PoolNode({ node }: { node: string }) {
  const others = (useNodes().data?.items ?? []).filter((n) => n.name !== node);
  return (
    <p className="text-sm text-slate-600 dark:text-slate-300" data-testid="ports-node">
      The pool of node <strong className="font-mono font-semibold text-slate-900 dark:text-white">{node}</strong>, the
      node that answered this console.
      {others.length > 0 ? (
        <>
          {" "}
          Each node has its own pool (the same numbers may be in use on two nodes); the others are on their own
          consoles:{" "}
          {others.map((n, i) => (
            <span key={n.name} className="inline-flex items-center gap-1">
              {i > 0 ? ", " : null}
              <a
                href={`${consoleOf(n.apiUrl)}/ports`}
                className="font-mono text-sky-700 hover:underline focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-sky-400"
              >
                {n.name}
              </a>
              <NodeStatusBadge status={n.status} />
            </span>
          ))}
          .
        </>
      ) : null}
    </p>
  );
}

export function PortsView() {
  const ports = usePorts();
  // Ended exports of the last 15 minutes too, so a port whose qemu-nbd crashed shows as such.
  const exports = useExports({ recentSeconds: CRASH_VISIBLE_SECONDS });
  const now = useNow();
  const [selected, setSelected] = useState<number | null>(null);
  const grid = useMemo(() => {
    if (!ports.data) return [];
    // The grid is this node's pool: exports of other nodes (same port numbers) are not on it.
    const node = ports.data.node;
    return portMap(
      ports.data.range,
      ports.data.allocations,
      (exports.data?.processes ?? []).filter((e) => e.node === node),
    );
  }, [ports.data, exports.data]);
  const counts = useMemo(
    () => Object.fromEntries(PORT_STATES.map((s) => [s.state, grid.filter((p) => p.state === s.state).length])),
    [grid],
  );

  if (ports.isError && !ports.data) return <QueryFailure query={ports} what="the port pool" />;
  if (!ports.data)
    return (
      <div
        className="h-72 animate-pulse rounded-xl bg-slate-200/70 dark:bg-slate-800/60"
        aria-busy="true"
        aria-label="Loading the port pool"
      />
    );

  const pool = ports.data;
  const used = percent(pool.allocated, pool.total);
  const info = grid.find((p) => p.port === selected);

  return (
    <div className="space-y-6">
      <PoolNode node={pool.node} />
      <div className="grid gap-4 rounded-xl border border-slate-200 bg-white p-4 shadow-sm sm:grid-cols-[minmax(0,1fr)_auto] sm:items-center dark:border-slate-800 dark:bg-slate-900">
        <div>
          <div className="flex items-baseline gap-2">
            <span className="text-2xl font-semibold tabular-nums" data-testid="ports-used">
              {pool.allocated} / {pool.total}
            </span>
            <span className="text-sm text-slate-500 dark:text-slate-400">
              ports in use ({used}%) · range {pool.range.min}–{pool.range.max}
            </span>
          </div>
          <div className="mt-2 max-w-xl">
            <ProgressBar
              value={used}
              label="Port pool utilisation"
              tone={used >= 90 ? "danger" : used >= 70 ? "warning" : "info"}
            />
          </div>
        </div>
        <ul className="flex flex-wrap gap-x-5 gap-y-2 text-sm" aria-label="Legend">
          {PORT_STATES.map((s) => (
            <li key={s.state} className="flex items-center gap-2" title={s.text}>
              <span aria-hidden className={`h-3 w-3 rounded-sm ${s.swatch}`} />
              <span className="text-slate-600 dark:text-slate-300">{s.label}</span>
              <span className="font-semibold tabular-nums" data-testid={`ports-count-${s.state}`}>
                {counts[s.state]}
              </span>
            </li>
          ))}
        </ul>
      </div>
      {exports.isError ? (
        <QueryError error={exports.error} what="the exports (ports show allocations only)" compact />
      ) : null}
      <div className="grid gap-6 xl:grid-cols-[minmax(0,1fr)_22rem]">
        <Panel
          id="port-grid"
          title={`Ports ${pool.range.min}–${pool.range.max} of ${pool.node}`}
          description="Arrow keys move between ports; Enter shows a port's job."
        >
          <ul className="grid grid-cols-10 gap-1.5" data-testid="port-grid" aria-label="Port pool">
            {grid.map((p) => {
              const style = stateStyle(p.state);
              const isSelected = p.port === selected;
              return (
                <li key={p.port}>
                  <button
                    type="button"
                    data-testid="port-cell"
                    data-port={p.port}
                    data-state={p.state}
                    title={describePort(p)}
                    aria-label={describePort(p)}
                    aria-pressed={isSelected}
                    onClick={() => setSelected(isSelected ? null : p.port)}
                    onKeyDown={(e) => {
                      const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 10, ArrowUp: -10 }[e.key];
                      if (!step) return;
                      e.preventDefault();
                      const target = e.currentTarget
                        .closest("ul")
                        ?.querySelector<HTMLButtonElement>(`[data-port="${p.port + step}"]`);
                      target?.focus();
                    }}
                    className={`w-full rounded-md py-2 text-center font-mono text-xs font-medium tabular-nums ring-1 transition focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 ${style.cell} ${
                      isSelected ? "ring-2 ring-slate-900 dark:ring-white" : ""
                    }`}
                  >
                    {p.port}
                  </button>
                </li>
              );
            })}
          </ul>
        </Panel>
        <Panel id="port-detail" title="Port details" className="xl:sticky xl:top-20 xl:self-start">
          <PortDetails info={info} now={now} />
        </Panel>
      </div>
    </div>
  );
}
