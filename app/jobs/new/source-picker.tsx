"use client";
// The disk images the API lists under the sources directory, to tick; with size and format.
import type { Source } from "@/lib/queries/types";
import { useSources } from "@/lib/queries/use-sources";
import { formatDateTime } from "../../components/format";
import { formatBytes } from "@/lib/format";
import { DiskIcon } from "../../components/icons";
import { QueryFailure } from "../../components/query-body";

function rowClass(checked: boolean, blocked: boolean): string {
  if (checked) return "cursor-pointer bg-sky-50/70 dark:bg-sky-400/5";
  return blocked ? "cursor-not-allowed opacity-60" : "cursor-pointer hover:bg-slate-50 dark:hover:bg-slate-800/40";
}

export function SourcePicker({ selected, onToggle }: { selected: Set<string>; onToggle: (source: Source) => void }) {
  const sources = useSources();
  if (sources.isError) return <QueryFailure query={sources} what="the sources directory" compact />;
  if (!sources.data)
    return (
      <div className="space-y-2" aria-busy="true" aria-label="Loading sources">
        {[0, 1].map((i) => (
          <div key={i} className="h-12 animate-pulse rounded-lg bg-slate-100 dark:bg-slate-800/60" />
        ))}
      </div>
    );
  if (sources.data.items.length === 0)
    return (
      <div
        data-testid="sources-empty"
        className="flex items-start gap-3 rounded-lg border border-dashed border-slate-300 p-4 text-sm text-slate-600 dark:border-slate-700 dark:text-slate-300"
      >
        <DiskIcon className="mt-0.5 h-5 w-5 shrink-0 text-slate-400" />
        <p>
          The sources directory has no disk images yet. Copy raw or qcow2 images into it (they are listed here at once),
          or type the NBD URI of a source export below.
        </p>
      </div>
    );
  return (
    <fieldset>
      <legend className="sr-only">Disk images in the sources directory</legend>
      <ul
        className="divide-y divide-slate-100 overflow-hidden rounded-lg ring-1 ring-slate-200 dark:divide-slate-800 dark:ring-slate-800"
        data-testid="source-list"
      >
        {sources.data.items.map((s) => {
          const checked = selected.has(s.path);
          // The server refuses such an image (docs/decisions/009-source-safety.md): say why here.
          const blocked = Boolean(s.problem) && !checked;
          return (
            <li key={s.path}>
              <label className={`flex items-center gap-3 px-3 py-2.5 text-sm ${rowClass(checked, blocked)}`}>
                <input
                  type="checkbox"
                  checked={checked}
                  disabled={blocked}
                  onChange={() => onToggle(s)}
                  className="h-4 w-4 rounded border-slate-300 accent-sky-600"
                />
                <span className="min-w-0 flex-1">
                  <span className="block truncate font-medium">{s.name}</span>
                  <span className="block truncate text-xs text-slate-500 dark:text-slate-400">
                    {s.path !== s.name ? `${s.path} · ` : ""}modified {formatDateTime(s.modifiedAt)}
                  </span>
                  {s.problem ? (
                    <span
                      className="block truncate text-xs text-amber-700 dark:text-amber-400"
                      data-testid="source-problem"
                    >
                      cannot be backed up: {s.problem}
                    </span>
                  ) : null}
                </span>
                <span className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-600 uppercase dark:bg-slate-800 dark:text-slate-300">
                  {s.format}
                </span>
                <span className="w-32 text-right text-xs text-slate-500 tabular-nums dark:text-slate-400">
                  <span className="block text-sm font-medium text-slate-800 dark:text-slate-200">
                    {formatBytes(s.virtualSize)}
                  </span>
                  {formatBytes(s.actualSize)} used
                </span>
              </label>
            </li>
          );
        })}
      </ul>
      {sources.data.truncated ? (
        <p className="mt-2 text-xs text-slate-500 dark:text-slate-400" data-testid="sources-truncated">
          Only the first {sources.data.items.length} images (by path) are listed.
        </p>
      ) : null}
    </fieldset>
  );
}
