"use client";
// Every node on the database (GET /nodes), refreshed every few seconds: its status from its last
// heartbeat, where it answers, its pool's use and its running jobs. The node this console talks
// to (GET /nbd/ports names it) is marked.
import type { NodeEntry, NodeList } from "@/lib/queries/types";
import { useNodes } from "@/lib/queries/use-nodes";
import { usePorts } from "@/lib/queries/use-ports";
import { CopyButton } from "../components/copy-button";
import { listTd as td, figures } from "../components/data-table";
import { formatDateTime, formatRelative, percent } from "../components/format";
import { formatBytes } from "@/lib/format";
import { ListView, type ListSpec } from "../components/list-view";
import { ProgressBar } from "../components/progress-bar";
import { NodeStatusBadge } from "../components/status-badge";
import { useNow } from "../components/use-now";

const NODES: Omit<ListSpec<NodeList, NodeEntry>, "row"> = {
  noun: "nodes",
  columns: [
    "Node",
    "Status",
    "Last heartbeat",
    "API URL · NBD host",
    figures("Ports in use"),
    figures("Jobs running"),
    "Repository",
  ],
  minWidth: "min-w-[1040px]",
  empty: {
    icon: "process",
    title: "No node has started yet",
    children: "A node writes its row when its server starts; this console's own node shows up within seconds.",
  },
  rowsOf: (data) => data.items,
};

function NodeRow({ node: n, here, now }: { node: NodeEntry; here: boolean; now: number }) {
  const used = percent(n.ports.allocated, n.ports.total);
  const lost = n.status === "lost";
  return (
    <tr data-testid="node-row" data-node={n.name} className={lost ? "bg-rose-50/40 dark:bg-rose-950/20" : undefined}>
      <td className={td}>
        <div className="font-mono font-medium whitespace-nowrap text-slate-900 dark:text-slate-100">{n.name}</div>
        {here ? <div className="text-xs text-slate-500 dark:text-slate-400">this console&apos;s node</div> : null}
      </td>
      <td className={td}>
        <NodeStatusBadge status={n.status} testId="node-row-status" />
      </td>
      <td className={`${td} whitespace-nowrap`} title={formatDateTime(n.lastSeenAt)} data-testid="node-row-seen">
        <span className={lost ? "font-medium text-rose-700 dark:text-rose-400" : "text-slate-700 dark:text-slate-200"}>
          {formatRelative(n.lastSeenAt, now)}
        </span>
        <div className="text-xs text-slate-400">{formatDateTime(n.lastSeenAt)}</div>
      </td>
      <td className={`${td} max-w-[22rem]`}>
        <div className="flex items-center gap-1">
          <span className="truncate font-mono text-xs" title={n.apiUrl}>
            {n.apiUrl}
          </span>
          <CopyButton value={n.apiUrl} label={`Copy the API URL of ${n.name}`} />
        </div>
        <div className="text-xs text-slate-500 dark:text-slate-400">
          NBD host <span className="font-mono">{n.nbdHost}</span>
        </div>
      </td>
      <td className={`${td} text-right tabular-nums`} data-testid="node-row-ports">
        <div className="ml-auto w-32">
          <div className="text-xs text-slate-700 dark:text-slate-200">
            {n.ports.allocated} / {n.ports.total}
          </div>
          <ProgressBar
            value={used}
            label={`Ports in use on ${n.name}`}
            size="sm"
            tone={used >= 90 ? "danger" : used >= 70 ? "warning" : "info"}
          />
          <div className="mt-0.5 font-mono text-xs whitespace-nowrap text-slate-500 dark:text-slate-400">
            range {n.portRange.min}–{n.portRange.max}
          </div>
        </div>
      </td>
      <td className={`${td} text-right tabular-nums`} data-testid="node-row-jobs">
        {n.jobsRunning}
      </td>
      <td className={`${td} max-w-[18rem]`}>
        <span
          className="block truncate font-mono text-xs text-slate-600 dark:text-slate-300"
          title={n.repository}
          dir="rtl"
        >
          <bdi>{n.repository}</bdi>
        </span>
        {n.repositoryFreeBytes !== null && (
          <span className="block text-xs text-slate-500 dark:text-slate-400" data-testid="node-row-free">
            {formatBytes(n.repositoryFreeBytes)} free
          </span>
        )}
      </td>
    </tr>
  );
}

export function NodesView() {
  const nodes = useNodes();
  const here = usePorts().data?.node;
  const now = useNow();
  const lost = nodes.data?.items.filter((n) => n.status === "lost").length ?? 0;
  return (
    <div className="space-y-4">
      <ListView
        query={nodes}
        spec={{ ...NODES, row: (n) => <NodeRow key={n.name} node={n} here={n.name === here} now={now} /> }}
      />
      {nodes.data && nodes.data.items.length > 0 ? (
        <p className="text-sm text-slate-500 dark:text-slate-400" data-testid="nodes-summary">
          {nodes.data.items.length} node{nodes.data.items.length === 1 ? "" : "s"}
          {lost > 0 ? `, ${lost} lost` : ", all up"}. A node is lost once its last heartbeat is older than the lease
          (NBDHUB_NODE_LEASE_SECONDS, 30 s by default); a node stopped cleanly reads lost too. Another node then fails
          its jobs as &ldquo;node lost&rdquo; (and starts them again where retries allow), marks its exports lost and
          frees its ports; when it comes back it cleans up before it takes new work.
        </p>
      ) : null}
    </div>
  );
}
