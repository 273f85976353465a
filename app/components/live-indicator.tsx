// Whether the page follows the server live, or is reconnecting after a lost connection.
import type { StreamState } from "@/lib/queries/use-backup-events";

export function LiveIndicator({ state }: { state: StreamState }) {
  if (state === "idle" || state === "ended") return null;
  const live = state === "live";
  return (
    <span
      role="status"
      data-testid="live-indicator"
      className={`inline-flex items-center gap-1.5 rounded-full px-2.5 py-1 text-xs font-medium ring-1 ring-inset ${
        live
          ? "bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-400/10 dark:text-emerald-300 dark:ring-emerald-400/25"
          : "bg-amber-50 text-amber-800 ring-amber-600/25 dark:bg-amber-400/10 dark:text-amber-300 dark:ring-amber-400/25"
      }`}
    >
      <span
        aria-hidden
        className={`h-1.5 w-1.5 rounded-full ${live ? "bg-emerald-500 animate-pulse" : "bg-amber-500 animate-ping"}`}
      />
      {live ? "Live" : state === "connecting" ? "Connecting…" : "Reconnecting…"}
    </span>
  );
}
