// What the dashboard's time charts share: the time axis (Recharts reads its children's props, so
// this is a props object to spread on <XAxis>, not a wrapper component) and the legend under a chart.

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
