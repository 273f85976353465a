"use client";
// A list page's card (jobs, exports, restores, VMs): one query's rows as a table; the error with
// a Retry while nothing has arrived, a placeholder while it loads, an empty state when there are
// no rows. Each page gives its columns, its rows and its sentences.
import type { ReactNode } from "react";
import { DataTable, type Column } from "./data-table";
import { QueryError } from "./query-error";
import type { QueryLike } from "./query-body";

type ListViewProps<D, R> = {
  query: QueryLike<D>;
  /** Completes "Could not load …". */
  what: string;
  rowsOf: (data: D) => R[];
  /** Names the placeholder for screen readers ("Loading exports"), or replaces it. */
  loading: string | ReactNode;
  /** Shown instead of an empty table. */
  empty: ReactNode;
  testId: string;
  columns: Column[];
  /** The table's least width (a Tailwind class): narrower, it scrolls. */
  minWidth: string;
  children: (row: R) => ReactNode;
};

export function ListView<D, R>(props: ListViewProps<D, R>) {
  const { query, what, rowsOf, loading, empty, testId, columns, minWidth, children } = props;
  if (query.isError && query.data === undefined)
    return <QueryError error={query.error} what={what} onRetry={() => query.refetch()} retrying={query.isFetching} />;
  const rows = query.data === undefined ? [] : rowsOf(query.data);
  return (
    <div className="overflow-hidden rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900">
      {query.data === undefined ? (
        typeof loading === "string" ? (
          <div
            className="m-4 h-32 animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800/60"
            aria-busy="true"
            aria-label={loading}
          />
        ) : (
          loading
        )
      ) : rows.length === 0 ? (
        empty
      ) : (
        <div className="overflow-x-auto">
          <DataTable testId={testId} columns={columns} look="list" minWidth={minWidth}>
            {rows.map(children)}
          </DataTable>
        </div>
      )}
    </div>
  );
}
