"use client";
// The repository: its space now (used by backups, free, the reserve a backup must leave, bytes
// per VM) and its use over the last 24 hours (server samples, at most one a minute), on a fixed
// time axis like the pool's charts so a gap in sampling shows as a gap.
import { CartesianGrid, ComposedChart, Tooltip, XAxis, YAxis } from "recharts";
import { useRepository, useRepositoryHistory, type RepositorySpace } from "@/lib/queries/use-repository";
import { formatBytes } from "@/lib/format";
import { percent } from "../format";
import { Panel } from "../panel";
import { ProgressBar } from "../progress-bar";
import { QueryBody, Skeleton } from "../query-body";
import { Term } from "../term";
import { ChartFrame, frameStateOf } from "./chart-frame";
import { ChartLegend, gridProps, timeAxisProps, tooltipProps, valueAxisProps } from "./chart-parts";
import { seriesElements, seriesGradients, type Series } from "./chart-series";
import { ChartTooltipBox } from "./chart-tooltip";

const HOURS = 24;
const bytesTick = (v: number) => (v === 0 ? "0" : formatBytes(v));
const when = (ms: number) =>
  new Date(ms).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

const FIGURE = "text-lg font-semibold text-slate-900 tabular-nums dark:text-white";
type Bytes = "usedByBackups" | "freeBytes" | "totalBytes" | "reserveBytes";
const FIGURES: { label: string; bytes: Bytes; testId: string }[] = [
  { label: "Used by backups", bytes: "usedByBackups", testId: "repository-used" },
  { label: "Free", bytes: "freeBytes", testId: "repository-free" },
  { label: "File system size", bytes: "totalBytes", testId: "repository-total" },
  { label: "Reserve", bytes: "reserveBytes", testId: "repository-reserve" },
];

const SERIES: Series[] = [
  {
    label: "Used by backups",
    dataKey: "backups",
    color: "var(--chart-bytes)",
    mark: "area",
    strokeWidth: 2,
    gradientId: "repository-backups",
  },
  { label: "In use on the file system", dataKey: "used", color: "var(--chart-peak)", mark: "dashed", strokeWidth: 1.5 },
];

function SpaceFigures({ space }: { space: RepositorySpace }) {
  const usedOnDisk = space.totalBytes - space.freeBytes;
  const used = percent(usedOnDisk, space.totalBytes);
  const lowOnSpace = space.freeBytes < space.reserveBytes;
  return (
    <div className="space-y-4 p-4">
      <dl className="grid grid-cols-2 gap-3">
        {FIGURES.map(({ label, bytes, testId }) => (
          <Term key={testId} label={label} valueClassName={FIGURE} testId={testId}>
            {formatBytes(space[bytes])}
          </Term>
        ))}
      </dl>
      <div>
        <ProgressBar
          value={used}
          label="Repository file system in use"
          tone={lowOnSpace || used >= 90 ? "danger" : used >= 75 ? "warning" : "info"}
        />
        <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">
          {used}% of the file system in use
          {lowOnSpace ? (
            <span className="text-rose-700 dark:text-rose-300"> · below the reserve: new backups are refused</span>
          ) : null}
        </p>
      </div>
      {space.vms.length > 0 ? (
        <table className="w-full text-sm" data-testid="repository-vms">
          <thead>
            <tr className="text-left text-xs text-slate-500 dark:text-slate-400">
              <th className="pb-1 font-medium">VM</th>
              <th className="pb-1 text-right font-medium">Points</th>
              <th className="pb-1 text-right font-medium">Size</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {space.vms.map((vm) => (
              <tr key={vm.vmName} data-testid="repository-vm" data-vm-name={vm.vmName}>
                <td className="max-w-40 truncate py-1.5 font-medium" title={vm.vmName}>
                  {vm.vmName}
                </td>
                <td className="py-1.5 text-right tabular-nums">{vm.restorePoints}</td>
                <td className="py-1.5 text-right tabular-nums">{formatBytes(vm.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="text-sm text-slate-500 dark:text-slate-400">No restore points yet.</p>
      )}
    </div>
  );
}

function UseChart() {
  const history = useRepositoryHistory(HOURS);
  const data =
    history.data?.points.map((p) => ({
      t: new Date(p.at).getTime(),
      backups: p.usedByBackups,
      used: p.totalBytes - p.freeBytes,
      total: p.totalBytes,
    })) ?? [];
  // The axis ends at the latest fetch, not the latest sample: a sampler that stopped shows.
  const to = history.dataUpdatedAt || 0;
  const from = to - HOURS * 3_600_000;
  const total = Math.max(1, ...data.map((d) => d.total));
  return (
    <ChartFrame
      {...frameStateOf(history)}
      what="the repository's history"
      empty={data.length === 0 ? "No samples yet: the server records the repository once a minute." : null}
      height="h-56"
      testId="repository-chart"
      points={data.length}
    >
      <ComposedChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 4 }}>
        <defs>{seriesGradients(SERIES)}</defs>
        <CartesianGrid {...gridProps} />
        <XAxis {...timeAxisProps(from, to)} />
        <YAxis {...valueAxisProps} domain={[0, total]} tickFormatter={bytesTick} width={76} />
        <Tooltip
          {...tooltipProps((p: (typeof data)[number]) => (
            <ChartTooltipBox
              title={when(p.t)}
              rows={[
                { label: "Used by backups", value: formatBytes(p.backups), color: "var(--chart-bytes)" },
                { label: "In use on the file system", value: formatBytes(p.used), color: "var(--chart-peak)" },
                { label: "File system size", value: formatBytes(p.total), color: "var(--chart-axis)" },
              ]}
            />
          ))}
        />
        {seriesElements(SERIES, data.length < 3)}
      </ComposedChart>
    </ChartFrame>
  );
}

export function RepositoryPanel() {
  const space = useRepository();
  return (
    <div className="grid gap-6 lg:grid-cols-3">
      <Panel
        id="repository-history"
        testId="repository-history"
        className="lg:col-span-2"
        title="Repository use, last 24 hours"
        description={space.data ? `${space.data.path}, sampled once a minute` : "Sampled on the server once a minute"}
        bodyClassName="px-2 pt-3 pb-1"
      >
        <UseChart />
        <ChartLegend items={SERIES} />
      </Panel>
      <Panel id="repository-space" testId="repository-space" title="Repository space" bodyClassName="">
        <QueryBody query={space} what="the repository" compact loading={<Skeleton className="h-40" />}>
          {(data) => <SpaceFigures space={data} />}
        </QueryBody>
      </Panel>
    </div>
  );
}
