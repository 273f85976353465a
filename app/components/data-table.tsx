// The console's tables: the panels of the admin pages (users, tokens) and the audit trail, and
// the list pages (jobs, exports, restores, VMs; `look="list"`: a shaded header, roomier rows).
// One header row, rows divided by a hairline.
import type { ReactNode } from "react";

export const th = "px-4 py-2 text-left text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400";
export const td = "px-4 py-2.5";
/** A cell of secondary facts (times, "never"), in grey on one line. */
export const tdMuted = `${td} whitespace-nowrap text-slate-500 dark:text-slate-400`;

const listTh = "px-4 py-2.5 text-left text-xs font-medium tracking-wide text-slate-500 uppercase dark:text-slate-400";
/** A cell of a list page's table. */
export const listTd = "px-4 py-3 align-middle";
/** The link in a list page's row that opens the row's own page. */
export const listLink =
  "font-medium hover:text-sky-700 hover:underline focus-visible:outline-2 focus-visible:outline-sky-600 " +
  "dark:hover:text-sky-400";

/**
 * A column's heading; `hidden` ones (a column of buttons) are named for screen readers only;
 * `right` ones hold figures.
 */
export type Column = string | { label: string; hidden?: true; right?: true };
/** A column of figures, aligned right. */
export const figures = (label: string): Column => ({ label, right: true });
/** The column of a row's buttons, named for screen readers only. */
export const ACTIONS: Column = { label: "Actions", hidden: true };

/** A query's answer (`D`) as the rows of a table: what they are called, the columns, one row. */
export type TableRows<D, R> = {
  /** The rows as a person names them ("tokens", "VMs"): "Could not load the tokens"; test id `tokens-table`. */
  noun: string;
  /** Completes "Could not load …" where "the" and the noun will not do. */
  what?: string;
  columns: Column[];
  rowsOf: (data: D) => R[];
  /** One row's <tr>, with its key. */
  row: (row: R) => ReactNode;
};

export const whatOf = ({ noun, what }: Pick<TableRows<never, never>, "noun" | "what">) => what ?? `the ${noun}`;
export const tableTestIdOf = ({ noun }: Pick<TableRows<never, never>, "noun">) => `${noun.toLowerCase()}-table`;

type Look = "panel" | "list";

const looks: Record<Look, { table: string; thead: string; th: string }> = {
  panel: { table: "w-full text-sm", thead: "border-b border-slate-100 dark:border-slate-800", th },
  list: {
    table: "w-full text-sm",
    thead: "border-b border-slate-200 bg-slate-50/80 dark:border-slate-800 dark:bg-slate-900",
    th: listTh,
  },
};

function Heading({ column, look }: { column: Column; look: Look }) {
  const className = looks[look].th;
  if (typeof column === "string")
    return (
      <th scope="col" className={className}>
        {column}
      </th>
    );
  return (
    <th scope="col" className={column.right ? `${className} text-right` : className}>
      {column.hidden ? <span className="sr-only">{column.label}</span> : column.label}
    </th>
  );
}

export function DataTable({
  testId,
  columns,
  look = "panel",
  minWidth = "",
  children,
}: {
  testId: string;
  columns: Column[];
  look?: Look;
  /** A list's least width (a Tailwind class such as `min-w-[720px]`): narrower, it scrolls. */
  minWidth?: string;
  children: ReactNode;
}) {
  const { table, thead } = looks[look];
  return (
    <table className={minWidth ? `${table} ${minWidth}` : table} data-testid={testId}>
      <thead className={thead}>
        <tr>
          {columns.map((c) => (
            <Heading key={typeof c === "string" ? c : c.label} column={c} look={look} />
          ))}
        </tr>
      </thead>
      <tbody className="divide-y divide-slate-100 dark:divide-slate-800">{children}</tbody>
    </table>
  );
}
