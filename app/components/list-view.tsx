"use client";
// A list page's card (jobs, exports, restores, VMs): one query's rows as a table; the error with
// a Retry while nothing has arrived, a placeholder while it loads, an empty state when there are
// no rows. Each page gives its query and its ListSpec.
import type { ReactNode } from "react";
import { DataTable, tableTestIdOf, whatOf, type TableRows } from "./data-table";
import { EmptyState, type EmptyStateProps } from "./empty-state";
import { QueryFailure, type QueryLike } from "./query-body";

/** A list page's rows (of its query's answer, `D`), and what it draws while there are none. */
export type ListSpec<D, R> = TableRows<D, R> & {
  /** Drawn instead of the grey placeholder (named "Loading <noun>") while the rows load. */
  loading?: ReactNode;
  /** The table's least width (a Tailwind class): narrower, it scrolls. */
  minWidth: string;
  /** Shown instead of an empty table. */
  empty: EmptyStateProps;
};

export function ListView<D, R>({ query, spec }: { query: QueryLike<D>; spec: ListSpec<D, R> }) {
  const { noun, loading, columns, minWidth, empty, rowsOf, row } = spec;
  if (query.isError && query.data === undefined) return <QueryFailure query={query} what={whatOf(spec)} />;
  const rows = query.data === undefined ? [] : rowsOf(query.data);
  return (
    <div className="overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
      {query.data === undefined ? (
        (loading ?? (
          <div
            className="m-4 h-32 animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800/60"
            aria-busy="true"
            aria-label={`Loading ${noun}`}
          />
        ))
      ) : rows.length === 0 ? (
        <EmptyState {...empty} />
      ) : (
        <div className="overflow-x-auto">
          <DataTable testId={tableTestIdOf(spec)} columns={columns} look="list" minWidth={minWidth}>
            {rows.map(row)}
          </DataTable>
        </div>
      )}
    </div>
  );
}
