// What the dashboard's charts share. Recharts reads its children's props, so the grid, the axes
// and the tooltip are props objects to spread on <CartesianGrid>, <XAxis>, <YAxis> and <Tooltip>,
// not wrapper components; the area's gradient (inside <defs>, plain SVG) and the legend under a
// chart are components.
import type { ReactNode } from "react";

const hourMinute = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const tick = (ms: number) => hourMinute.format(new Date(ms));

/** Props of a time <XAxis> from `from` to `to` (ms), ticks as hours and minutes. */
export function timeAxisProps(from: number, to: number) {
  return {
    dataKey: "t",
    type: "number" as const,
    scale: "time" as const,
    domain: [from, to],
    tickFormatter: tick,
    tick: { fill: "var(--chart-axis)", fontSize: 11 },
    axisLine: { stroke: "var(--chart-grid)" },
    tickLine: false,
    minTickGap: 40,
  };
}

/** Horizontal grid lines only. */
export const gridProps = { stroke: "var(--chart-grid)", vertical: false } as const;

/** A value <YAxis>: ticks in the axis colour, no axis line. */
export const valueAxisProps = {
  tick: { fill: "var(--chart-axis)", fontSize: 11 },
  axisLine: false,
  tickLine: false,
} as const;

/** The time charts' cursor: a dashed vertical line. */
const lineCursor = { stroke: "var(--chart-axis)", strokeDasharray: "3 3" };

type TooltipArgs = { active?: boolean; payload?: ReadonlyArray<{ payload?: unknown }> };

/** A <Tooltip> that draws the hovered point (the chart's data item) with `render`. */
export function tooltipProps<T>(render: (point: T) => ReactNode, cursor: object = lineCursor) {
  return {
    cursor,
    content: ({ active, payload }: TooltipArgs) => {
      const point = active ? (payload?.[0]?.payload as T | undefined) : undefined;
      return point ? render(point) : null;
    },
  };
}

/** The fill under an area series, fading downwards (refer to it as `url(#id)`). */
export function AreaGradient({ id, color }: { id: string; color: string }) {
  return (
    <linearGradient id={id} x1="0" y1="0" x2="0" y2="1">
      <stop offset="0%" stopColor={color} stopOpacity={0.35} />
      <stop offset="100%" stopColor={color} stopOpacity={0.03} />
    </linearGradient>
  );
}

/** A series in the legend: a filled area, a dashed line (a peak or a limit), or a plain line. */
export type LegendItem = { label: string; color: string; mark: "area" | "dashed" | "line" };

export function ChartLegend({ items }: { items: LegendItem[] }) {
  return (
    <ul className="flex flex-wrap gap-4 px-3 pb-2 text-xs text-slate-500 dark:text-slate-400" aria-label="Legend">
      {items.map(({ label, color, mark }) => (
        <li key={label} className="flex items-center gap-1.5">
          {mark === "area" ? (
            <span aria-hidden className="h-2 w-3 rounded-sm" style={{ background: color }} />
          ) : mark === "dashed" ? (
            <span aria-hidden className="h-0.5 w-3 border-t-2 border-dashed" style={{ borderColor: color }} />
          ) : (
            <span aria-hidden className="h-0.5 w-3" style={{ background: color }} />
          )}
          {label}
        </li>
      ))}
    </ul>
  );
}
