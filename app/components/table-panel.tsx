"use client";
// A panel holding one query's rows as a table (users, tokens, the audit trail): the query's
// error or loading state until the rows are there, and a sentence when there are none.
import type { ReactNode } from "react";
import { DataTable, type Column } from "./data-table";
import { Panel } from "./panel";
import { QueryBody, type QueryLike } from "./query-body";

type TablePanelProps<D, R> = {
  title: string;
  query: QueryLike<D>;
  /** Completes "Could not load …". */
  what: string;
  testId: string;
  columns: Column[];
  rowsOf: (data: D) => R[];
  /** Shown instead of an empty table; without it an empty table is shown. */
  empty?: ReactNode;
  /** Below the table (e.g. "Load older"). */
  footer?: ReactNode;
  children: (row: R) => ReactNode;
};

export function TablePanel<D, R>(props: TablePanelProps<D, R>) {
  const { title, query, what, testId, columns, rowsOf, empty, footer, children } = props;
  const isEmpty = (data: D) => empty !== undefined && rowsOf(data).length === 0;
  return (
    <Panel title={title} bodyClassName="overflow-x-auto">
      <QueryBody query={query} what={what} isEmpty={isEmpty} empty={empty}>
        {(data) => (
          <DataTable testId={testId} columns={columns}>
            {rowsOf(data).map(children)}
          </DataTable>
        )}
      </QueryBody>
      {footer}
    </Panel>
  );
}
