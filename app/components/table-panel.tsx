"use client";
// A panel holding one query's rows as a table (users, tokens, notification targets and their
// deliveries, the audit trail): the query's error or loading state until the rows are there, and
// a sentence when there are none.
import type { ReactNode } from "react";
import { DataTable, tableTestIdOf, whatOf, type TableRows } from "./data-table";
import { Panel } from "./panel";
import { QueryBody, type QueryLike } from "./query-body";

/** The rows, and what is shown instead of an empty table (without it, an empty table is shown). */
export type PanelRows<D, R> = TableRows<D, R> & { empty?: ReactNode };

type TablePanelProps<D, R> = {
  title: string;
  description?: ReactNode;
  actions?: ReactNode;
  /** The panel's test id (the table's comes from the rows' noun). */
  testId?: string;
  query: QueryLike<D>;
  rows: PanelRows<D, R>;
  /** Below the table (e.g. "Load older"). */
  footer?: ReactNode;
};

export function TablePanel<D, R>({ query, rows, footer, ...panel }: TablePanelProps<D, R>) {
  const { columns, rowsOf, row, empty } = rows;
  const isEmpty = (data: D) => empty !== undefined && rowsOf(data).length === 0;
  return (
    <Panel {...panel} bodyClassName="overflow-x-auto">
      <QueryBody query={query} what={whatOf(rows)} isEmpty={isEmpty} empty={empty}>
        {(data) => (
          <DataTable testId={tableTestIdOf(rows)} columns={columns}>
            {rowsOf(data).map(row)}
          </DataTable>
        )}
      </QueryBody>
      {footer}
    </Panel>
  );
}
