// One headline number of the dashboard, with a caption and an optional footer (a bar, a link).
import type { ReactNode } from "react";

export function KpiCard({
  label,
  value,
  caption,
  footer,
  testId,
  icon,
}: {
  label: string;
  value: ReactNode;
  caption?: ReactNode;
  footer?: ReactNode;
  testId?: string;
  icon?: ReactNode;
}) {
  return (
    <section
      aria-label={label}
      data-testid={testId}
      className="flex flex-col rounded-xl border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900"
    >
      <div className="flex items-center justify-between gap-2">
        <h2 className="text-xs font-medium tracking-wide text-slate-500 uppercase dark:text-slate-400">{label}</h2>
        {icon ? <span className="text-slate-400 dark:text-slate-500">{icon}</span> : null}
      </div>
      <div className="mt-2 text-2xl font-semibold tracking-tight text-slate-900 tabular-nums dark:text-white">
        {value}
      </div>
      {caption ? <div className="mt-1 text-xs text-slate-500 dark:text-slate-400">{caption}</div> : null}
      {footer ? <div className="mt-auto pt-3">{footer}</div> : null}
    </section>
  );
}
