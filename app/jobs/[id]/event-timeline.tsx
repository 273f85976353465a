"use client";
// The job's event log as a timeline, oldest first; follows new entries while scrolled to the end.
import { useEffect, useRef } from "react";
import type { JobEvent } from "@/lib/queries/types";
import { formatTime } from "../../components/format";

const dot = {
  info: "bg-sky-500 ring-sky-100 dark:ring-sky-950",
  warn: "bg-amber-500 ring-amber-100 dark:ring-amber-950",
  error: "bg-rose-500 ring-rose-100 dark:ring-rose-950",
};

export function EventTimeline({ events }: { events: JobEvent[] }) {
  const box = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [events.length]);
  if (events.length === 0)
    return (
      <p className="p-4 text-sm text-slate-500 dark:text-slate-400">
        No events yet. Each step of the job (port, export, copy, verify) is logged here.
      </p>
    );
  return (
    <div
      ref={box}
      tabIndex={0}
      aria-label="Event log"
      onScroll={(e) => {
        const el = e.currentTarget;
        pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
      className="max-h-[36rem] overflow-y-auto px-4 py-3 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-sky-600"
    >
      <ol className="relative border-l border-slate-200 dark:border-slate-800" data-testid="event-log">
        {events.map((e) => (
          <li key={e.id} className="mb-3 ml-4 last:mb-0">
            <span
              aria-hidden
              className={`absolute -left-[5px] mt-1.5 h-2.5 w-2.5 rounded-full ring-4 ${dot[e.level] ?? dot.info}`}
            />
            <div className="flex flex-wrap items-center gap-x-2 text-xs text-slate-500 dark:text-slate-400">
              <time dateTime={e.at} className="tabular-nums">
                {formatTime(e.at)}
              </time>
              <span className="rounded bg-slate-100 px-1.5 py-px font-mono text-[0.6875rem] text-slate-600 dark:bg-slate-800 dark:text-slate-300">
                {e.kind}
              </span>
              {e.diskId ? <span className="font-mono text-[0.6875rem]">{e.diskId}</span> : null}
              {e.level !== "info" ? (
                <span
                  className={
                    e.level === "error"
                      ? "font-medium text-rose-600 dark:text-rose-400"
                      : "font-medium text-amber-600 dark:text-amber-400"
                  }
                >
                  {e.level}
                </span>
              ) : null}
            </div>
            <p
              className={`mt-0.5 text-sm break-words ${e.level === "error" ? "text-rose-700 dark:text-rose-300" : "text-slate-700 dark:text-slate-200"}`}
            >
              {e.message}
            </p>
          </li>
        ))}
      </ol>
    </div>
  );
}
