"use client";
// The port pool over time (server samples, downsampled): ports in use (average and peak per
// bucket) and running exports, on a fixed time axis so gaps in sampling show as gaps. One
// node's pool, or every node's summed (`node` left out).
import { CartesianGrid, ComposedChart, Tooltip, XAxis, YAxis } from "recharts";
import { usePoolHistory } from "@/lib/queries/use-pool-history";
import type { PoolHistoryRange } from "@/lib/queries/types";
import { Panel } from "../panel";
import { ChartFrame, frameStateOf } from "./chart-frame";
import { ChartLegend, gridProps, timeAxisProps, tooltipProps, valueAxisProps } from "./chart-parts";
import { seriesElements, seriesGradients, type Series } from "./chart-series";
import { ChartTooltipBox } from "./chart-tooltip";

const titles: Record<PoolHistoryRange, string> = {
  "1h": "Pool utilisation, last hour",
  "24h": "Pool utilisation, last 24 hours",
};

/** Both ranges' charts are on the dashboard at once: each area has its own gradient. */
const seriesOf = (range: PoolHistoryRange): Series[] => [
  {
    label: "Ports in use",
    dataKey: "allocated",
    color: "var(--chart-used)",
    mark: "area",
    strokeWidth: 2,
    gradientId: `used-${range}`,
  },
  {
    label: "Peak",
    dataKey: "allocatedMax",
    color: "var(--chart-peak)",
    mark: "dashed",
    strokeWidth: 1.25,
    curve: "stepAfter",
  },
  { label: "Exports", dataKey: "exports", color: "var(--chart-exports)", mark: "line", strokeWidth: 1.5 },
];

export function PoolHistoryChart({ range, node }: { range: PoolHistoryRange; node?: string }) {
  const history = usePoolHistory(range, node);
  const data = history.data?.points.map((p) => ({ ...p, t: new Date(p.at).getTime() })) ?? [];
  const from = history.data ? new Date(history.data.from).getTime() : 0;
  const to = history.data ? new Date(history.data.to).getTime() : 0;
  const total = Math.max(1, ...data.map((d) => d.total));
  const peak = Math.max(0, ...data.map((d) => d.allocatedMax));
  const bucket = history.data?.bucketSeconds;
  const series = seriesOf(range);

  return (
    <Panel
      id={`pool-history-${range}`}
      testId={`pool-history-${range}`}
      title={titles[range]}
      description={
        bucket
          ? `${node ? `Node ${node}` : "All nodes"} · ports in use per ${bucket >= 60 ? `${bucket / 60} min` : `${bucket} s`} (average and peak) · peak ${peak} of ${total}`
          : "Sampled on the server every few seconds"
      }
      bodyClassName="px-2 pt-3 pb-1"
    >
      <ChartFrame
        {...frameStateOf(history)}
        what="the pool history"
        empty={data.length === 0 ? "No samples yet: the server records the pool every few seconds." : null}
        height="h-56"
      >
        <ComposedChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: -8 }}>
          <defs>{seriesGradients(series)}</defs>
          <CartesianGrid {...gridProps} />
          <XAxis {...timeAxisProps(from, to)} />
          <YAxis
            {...valueAxisProps}
            domain={[0, (max: number) => Math.max(4, Math.ceil(Math.max(max, peak) * 1.25))]}
            allowDecimals={false}
            width={40}
          />
          <Tooltip
            {...tooltipProps((p: (typeof data)[number]) => (
              <ChartTooltipBox
                title={new Date(p.t).toLocaleString(undefined, {
                  month: "short",
                  day: "numeric",
                  hour: "2-digit",
                  minute: "2-digit",
                  second: range === "1h" ? "2-digit" : undefined,
                })}
                rows={[
                  { label: "Ports in use (avg)", value: `${p.allocated} / ${p.total}`, color: "var(--chart-used)" },
                  { label: "Peak", value: p.allocatedMax, color: "var(--chart-peak)" },
                  { label: "Exports", value: p.exports, color: "var(--chart-exports)" },
                ]}
              />
            ))}
          />
          {seriesElements(series, false)}
        </ComposedChart>
      </ChartFrame>
      <ChartLegend items={series} />
    </Panel>
  );
}
