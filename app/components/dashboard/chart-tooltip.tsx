// The tooltip of the dashboard's charts, styled like the rest of the console in light and dark.
import type { ReactNode } from "react";

export function ChartTooltipBox({
  title,
  rows,
}: {
  title: ReactNode;
  rows: { label: string; value: ReactNode; color: string }[];
}) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white px-3 py-2 text-xs shadow-lg dark:border-slate-700 dark:bg-slate-900">
      <div className="mb-1 font-medium text-slate-900 dark:text-slate-100">{title}</div>
      {rows.map((row) => (
        <div key={row.label} className="flex items-center gap-2 text-slate-600 dark:text-slate-300">
          <span aria-hidden className="h-2 w-2 rounded-full" style={{ background: row.color }} />
          <span>{row.label}</span>
          <span className="ml-auto pl-3 font-medium text-slate-900 tabular-nums dark:text-slate-100">{row.value}</span>
        </div>
      ))}
    </div>
  );
}
