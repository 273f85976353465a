"use client";
import { useHealth } from "@/lib/queries/use-health";

export function HealthCard() {
  const { data, isPending, isError } = useHealth();
  const ok = data?.status === "ok";
  return (
    <section aria-labelledby="health-title" className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <h2 id="health-title" className="text-sm font-medium uppercase tracking-wide text-slate-500">Health</h2>
      {isPending ? (
        <p className="mt-2 text-slate-500">Checking…</p>
      ) : isError || !data ? (
        <p className="mt-2 text-red-600" role="status">The server did not answer.</p>
      ) : (
        <div className="mt-2 flex flex-wrap items-center gap-4" role="status" data-testid="health">
          <span className={`inline-flex items-center gap-2 font-medium ${ok ? "text-emerald-600" : "text-amber-600"}`}>
            <span aria-hidden className={`h-2.5 w-2.5 rounded-full ${ok ? "bg-emerald-500" : "bg-amber-500"}`} />
            {ok ? "All systems ok" : "Degraded"}
          </span>
          <span className="text-sm text-slate-600 dark:text-slate-300">Database: {data.db}</span>
          <span className="text-sm text-slate-600 dark:text-slate-300">qemu-nbd: {data.qemuNbd}</span>
          {data.problems?.map((p) => (
            <span key={p} className="text-sm text-amber-700 dark:text-amber-400">{p}</span>
          ))}
        </div>
      )}
    </section>
  );
}
