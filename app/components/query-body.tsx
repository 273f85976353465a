"use client";
// What a panel shows for one query: the error with a Retry, a placeholder while it loads, a
// sentence when there is nothing to show, else the data.
import type { ReactNode } from "react";
import { QueryError } from "./query-error";

export type QueryLike<T> = {
  data: T | undefined;
  error: unknown;
  isError: boolean;
  isFetching: boolean;
  refetch: () => unknown;
};

type QueryBodyProps<T> = {
  query: QueryLike<T>;
  /** Completes "Could not load …". */
  what: string;
  /** Shown while nothing has arrived; "Loading…" unless given. */
  loading?: ReactNode;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  compact?: boolean;
  children: (data: T) => ReactNode;
};

/** The query's error, with a Retry that reads it again (busy while it does). */
export function QueryFailure({ query, what, compact }: { query: QueryLike<unknown>; what: string; compact?: boolean }) {
  return (
    <QueryError
      error={query.error}
      what={what}
      onRetry={() => query.refetch()}
      retrying={query.isFetching}
      compact={compact}
    />
  );
}

export function QueryBody<T>({ query, what, loading, isEmpty, empty, compact, children }: QueryBodyProps<T>) {
  if (query.isError) {
    return (
      <div className="p-4">
        <QueryFailure query={query} what={what} compact={compact} />
      </div>
    );
  }
  if (query.data === undefined) return loading ?? <p className="p-4 text-sm text-slate-500">Loading…</p>;
  if (isEmpty?.(query.data)) return empty;
  return children(query.data);
}

/** The grey block a dashboard panel shows while its data loads. */
export function Skeleton({ className = "h-20" }: { className?: string }) {
  return <div className={`m-4 animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800/60 ${className}`} />;
}
