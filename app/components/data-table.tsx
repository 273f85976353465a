// The tables of the admin pages (users, tokens) and the audit trail: one header style, rows
// divided by a hairline.
import type { ReactNode } from "react";

export const th = "px-4 py-2 text-left text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400";
export const td = "px-4 py-2.5";
/** A cell of secondary facts (times, "never"), in grey on one line. */
export const tdMuted = `${td} whitespace-nowrap text-slate-500 dark:text-slate-400`;

/** A column's heading; `hidden` ones (a column of buttons) are named for screen readers only. */
export type Column = string | { label: string; hidden: true };

export function DataTable({ testId, columns, children }: { testId: string; columns: Column[]; children: ReactNode }) {
  return (
    <table className="w-full text-sm" data-testid={testId}>
      <thead className="border-b border-slate-100 dark:border-slate-800">
        <tr>
          {columns.map((c) =>
            typeof c === "string" ? (
              <th key={c} className={th}>
                {c}
              </th>
            ) : (
              <th key={c.label} className={th}>
                <span className="sr-only">{c.label}</span>
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100 dark:divide-slate-800">{children}</tbody>
    </table>
  );
}
