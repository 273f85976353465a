"use client";
// Bytes moved per hour over the last 24 hours (from the pool samples' bytes-moved counts).
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { DashboardStats } from "@/lib/queries/types";
import { formatBytes } from "@/lib/format";
import { Panel } from "../panel";
import { QueryError } from "../query-error";
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
      {error ? (
        <div className="p-2">
          <QueryError error={error} what="bytes moved" onRetry={onRetry} compact />
        </div>
      ) : (
        <div className="relative h-52">
          {stats && total === 0 ? (
            <p className="absolute inset-0 z-10 grid place-items-center px-6 text-center text-sm text-slate-500 dark:text-slate-400">
              Nothing moved in the last 24 hours. Bytes show here as backups run.
            </p>
          ) : null}
          {stats ? (
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: 4 }}>
                <CartesianGrid stroke="var(--chart-grid)" vertical={false} />
                <XAxis
                  dataKey="label"
                  tick={{ fill: "var(--chart-axis)", fontSize: 11 }}
                  axisLine={{ stroke: "var(--chart-grid)" }}
                  tickLine={false}
                  interval="preserveStartEnd"
                  minTickGap={24}
                />
                <YAxis
                  tickFormatter={(v: number) => (v === 0 ? "0" : formatBytes(v))}
                  tick={{ fill: "var(--chart-axis)", fontSize: 11 }}
                  axisLine={false}
                  tickLine={false}
                  width={64}
                />
                <Tooltip
                  cursor={{ fill: "var(--chart-grid)", opacity: 0.5 }}
                  content={({ active, payload }) => {
                    const p = active ? (payload?.[0]?.payload as (typeof data)[number] | undefined) : undefined;
                    return p ? (
                      <ChartTooltipBox
                        title={`Hour from ${p.label}`}
                        rows={[{ label: "Moved", value: formatBytes(p.bytes), color: "var(--chart-bytes)" }]}
                      />
                    ) : null;
                  }}
                />
                <Bar
                  dataKey="bytes"
                  fill="var(--chart-bytes)"
                  radius={[3, 3, 0, 0]}
                  maxBarSize={28}
                  isAnimationActive={false}
                />
              </BarChart>
            </ResponsiveContainer>
          ) : (
            <div className="m-2 h-[calc(100%-1rem)] animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800/60" />
          )}
        </div>
      )}
    </Panel>
  );
}
