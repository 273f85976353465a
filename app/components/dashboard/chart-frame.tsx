"use client";
// The box a dashboard chart is drawn in: the error (with a Retry) when its data could not be
// loaded, a placeholder until it arrives, a sentence over the empty chart when there is nothing
// to draw. The chart is ResponsiveContainer's direct child, as Recharts needs.
import type { ReactElement } from "react";
import { ResponsiveContainer } from "recharts";
import type { QueryLike } from "../query-body";
import { QueryError } from "../query-error";

type ChartFrameProps = {
  /** Set when the data could not be loaded. */
  error: unknown;
  /** Completes "Could not load …". */
  what: string;
  onRetry: () => void;
  retrying?: boolean;
  /** The data arrived (until then a placeholder). */
  ready: boolean;
  /** Said over the chart when there is nothing to draw; null when there is. */
  empty: string | null;
  /** The frame's height (a Tailwind class). */
  height: "h-52" | "h-56";
  testId?: string;
  points?: number;
  children: ReactElement;
};

/** The frame's state from the one query its chart draws: its error and Retry, and whether it arrived. */
export function frameStateOf(query: QueryLike<unknown>) {
  return {
    error: query.isError ? query.error : null,
    onRetry: () => void query.refetch(),
    retrying: query.isFetching,
    ready: query.data !== undefined,
  };
}

export function ChartFrame({
  error,
  what,
  onRetry,
  retrying,
  ready,
  empty,
  height,
  testId,
  points,
  children,
}: ChartFrameProps) {
  if (error) {
    return (
      <div className="p-2">
        <QueryError error={error} what={what} onRetry={onRetry} retrying={retrying} compact />
      </div>
    );
  }
  return (
    <div className={`relative ${height}`} data-testid={testId} data-points={points}>
      {ready && empty !== null ? (
        <p className="absolute inset-0 z-10 grid place-items-center px-6 text-center text-sm text-slate-500 dark:text-slate-400">
          {empty}
        </p>
      ) : null}
      {ready ? (
        <ResponsiveContainer width="100%" height="100%">
          {children}
        </ResponsiveContainer>
      ) : (
        <div className="m-2 h-[calc(100%-1rem)] animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800/60" />
      )}
    </div>
  );
}
