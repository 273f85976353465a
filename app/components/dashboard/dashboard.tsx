"use client";
// The dashboard's live parts. "Today" is the operator's day: from local midnight.
import { useMemo, useState, type ReactNode } from "react";
import { useNodes } from "@/lib/queries/use-nodes";
import { NodeSelect } from "../node-select";
import { useDashboardStats } from "@/lib/queries/use-dashboard-stats";
import { useNow } from "../use-now";
import { ActiveJobs } from "./active-jobs";
import { BytesPerHourChart } from "./bytes-per-hour-chart";
import { JobsToday } from "./jobs-today";
import { LastFailures } from "./last-failures";
import { PoolHistoryChart } from "./pool-history-chart";
import { PoolKpis } from "./pool-kpis";
import { RepositoryPanel } from "./repository-panel";
import { RunningExports } from "./running-exports";

function useStartOfToday(): string {
  const now = useNow(60_000);
  const day = new Date(now).toDateString();
  return useMemo(() => {
    const midnight = new Date(day);
    midnight.setHours(0, 0, 0, 0);
    return midnight.toISOString();
  }, [day]);
}

/** The pool charts' node: all nodes summed, or one; offered once there is more than one node. */
function PoolCharts() {
  const [node, setNode] = useState<string | undefined>();
  const several = (useNodes().data?.items.length ?? 0) > 1;
  return (
    <div className="space-y-3">
      {several || node ? (
        <div className="flex justify-end">
          <NodeSelect id="pool-node" label="Pool of" value={node} onChange={setNode} />
        </div>
      ) : null}
      <div className="grid gap-6 lg:grid-cols-2">
        <PoolHistoryChart range="1h" node={node} />
        <PoolHistoryChart range="24h" node={node} />
      </div>
    </div>
  );
}

export function Dashboard({ health }: { health: ReactNode }) {
  const since = useStartOfToday();
  const stats = useDashboardStats(since);
  const statsError = stats.isError ? stats.error : null;
  const retry = () => void stats.refetch();
  return (
    <div className="space-y-6">
      <PoolKpis since={since} />
      <PoolCharts />
      <RepositoryPanel />
      <div className="grid gap-6 lg:grid-cols-3">
        <div className="lg:col-span-2">
          <ActiveJobs />
        </div>
        <JobsToday stats={stats.data} error={statsError} onRetry={retry} />
      </div>
      <div className="grid gap-6 lg:grid-cols-3">
        <div className="lg:col-span-2">
          <BytesPerHourChart stats={stats.data} error={statsError} onRetry={retry} />
        </div>
        <LastFailures stats={stats.data} error={statsError} onRetry={retry} />
      </div>
      <div className="grid gap-6 lg:grid-cols-3">
        <div className="lg:col-span-2">
          <RunningExports />
        </div>
        {health}
      </div>
    </div>
  );
}
