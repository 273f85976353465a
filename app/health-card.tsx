"use client";
import { useHealth } from "@/lib/queries/use-health";
import { Term } from "./components/term";

/** A part the server depends on, and its state. */
const PART = "rounded-lg bg-slate-50 px-3 py-2 dark:bg-slate-800/60";

export function HealthCard() {
  const { data, isPending, isError } = useHealth();
  const ok = data?.status === "ok";
  return (
    <section
      aria-labelledby="health-title"
      className="h-full rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900"
    >
      <header className="border-b border-slate-100 px-4 py-3 dark:border-slate-800">
        <h2 id="health-title" className="text-sm font-semibold">
          Health
        </h2>
        <p className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">
          The database and qemu-nbd, checked every 10 s
        </p>
      </header>
      <div className="p-4">
        {isPending ? (
          <p className="text-sm text-slate-500">Checking…</p>
        ) : isError || !data ? (
          <p className="text-sm text-rose-600" role="status">
            The server did not answer.
          </p>
        ) : (
          <div className="space-y-3" role="status" data-testid="health">
            <span
              className={`inline-flex items-center gap-2 text-sm font-medium ${ok ? "text-emerald-600 dark:text-emerald-400" : "text-amber-600 dark:text-amber-400"}`}
            >
              <span aria-hidden className={`h-2.5 w-2.5 rounded-full ${ok ? "bg-emerald-500" : "bg-amber-500"}`} />
              {ok ? "All systems ok" : "Degraded"}
            </span>
            <dl className="grid grid-cols-2 gap-2 text-sm">
              {[
                ["Database", data.db],
                ["qemu-nbd", data.qemuNbd],
              ].map(([part, state]) => (
                <Term key={part} label={part} className={PART} valueClassName="font-medium">
                  <span className="sr-only">{`${part}: `}</span>
                  {state}
                </Term>
              ))}
            </dl>
            {data.problems?.map((p) => (
              <p key={p} className="text-sm text-amber-700 dark:text-amber-400">
                {p}
              </p>
            ))}
          </div>
        )}
      </div>
    </section>
  );
}
