"use client";
// Bytes moved per hour over the last 24 hours (from the pool samples' bytes-moved counts).
import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis } from "recharts";
import type { DashboardStats } from "@/lib/queries/types";
import { formatBytes } from "@/lib/format";
import { Panel } from "../panel";
import { ChartFrame } from "./chart-frame";
import { gridProps, tooltipProps, valueAxisProps } from "./chart-parts";
import { ChartTooltipBox } from "./chart-tooltip";

const hourFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

export function BytesPerHourChart({
  stats,
  error,
  onRetry,
}: {
  stats?: DashboardStats;
  error: unknown;
  onRetry: () => void;
}) {
  const data = stats?.bytesPerHour.map((h) => ({ ...h, label: hourFormat.format(new Date(h.hour)) })) ?? [];
  const total = data.reduce((a, h) => a + h.bytes, 0);
  return (
    <Panel
      id="bytes-per-hour"
      testId="bytes-per-hour"
      title="Data moved per hour"
      description={stats ? `${formatBytes(total)} in the last 24 hours` : "Last 24 hours"}
      bodyClassName="px-2 pt-3 pb-2"
      className="h-full"
    >
      <ChartFrame
        error={error}
        what="bytes moved"
        onRetry={onRetry}
        ready={Boolean(stats)}
        empty={total === 0 ? "Nothing moved in the last 24 hours. Bytes show here as backups run." : null}
        height="h-52"
      >
        <BarChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
          <CartesianGrid {...gridProps} />
          <XAxis
            dataKey="label"
            tick={{ fill: "var(--chart-axis)", fontSize: 11 }}
            axisLine={{ stroke: "var(--chart-grid)" }}
            tickLine={false}
            interval="preserveStartEnd"
            minTickGap={24}
          />
          <YAxis {...valueAxisProps} tickFormatter={(v: number) => (v === 0 ? "0" : formatBytes(v))} width={64} />
          <Tooltip
            {...tooltipProps(
              (p: (typeof data)[number]) => (
                <ChartTooltipBox
                  title={`Hour from ${p.label}`}
                  rows={[{ label: "Moved", value: formatBytes(p.bytes), color: "var(--chart-bytes)" }]}
                />
              ),
              { fill: "var(--chart-grid)", opacity: 0.5 },
            )}
          />
          <Bar
            dataKey="bytes"
            fill="var(--chart-bytes)"
            radius={[3, 3, 0, 0]}
            maxBarSize={28}
            isAnimationActive={false}
          />
        </BarChart>
      </ChartFrame>
    </Panel>
  );
}
