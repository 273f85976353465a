"use client";
import { useInfiniteQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys, type BackupFilters } from "./keys";
import { isActiveJob, type BackupPage } from "./types";

export const TIME_RANGES: Record<string, { label: string; seconds?: number }> = {
  any: { label: "Any time" },
  "1h": { label: "Last hour", seconds: 3600 },
  "24h": { label: "Last 24 hours", seconds: 86400 },
  "7d": { label: "Last 7 days", seconds: 7 * 86400 },
  "30d": { label: "Last 30 days", seconds: 30 * 86400 },
  custom: { label: "Custom…" },
};

/** The `from`/`to` query of a filter: a preset range is resolved when the page is fetched, so it stays current. */
function timeWindow(filters: BackupFilters): { from?: string; to?: string } {
  if (filters.range === "custom") return { from: filters.from || undefined, to: filters.to || undefined };
  const seconds = filters.range ? TIME_RANGES[filters.range]?.seconds : undefined;
  return seconds ? { from: new Date(Date.now() - seconds * 1000).toISOString() } : {};
}

/**
 * Backup history, newest first, one page per cursor (GET /backups?status&vmNamePrefix&node&from&to&limit&cursor).
 * The VM name filter matches names that start with it ("web" finds web-01 and web-02).
 * Refetched every 3 s while a loaded job is still queued or running.
 */
export function useBackups(filters: BackupFilters, limit = 50) {
  return useInfiniteQuery({
    queryKey: queryKeys.backups(filters),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) => {
      const query = new URLSearchParams({ limit: String(limit) });
      if (filters.status) query.set("status", filters.status);
      if (filters.vmName) query.set("vmNamePrefix", filters.vmName);
      if (filters.node) query.set("node", filters.node);
      const { from, to } = timeWindow(filters);
      if (from) query.set("from", from);
      if (to) query.set("to", to);
      if (pageParam) query.set("cursor", pageParam);
      return apiFetch<BackupPage>(`/backups?${query}`, { signal });
    },
    getNextPageParam: (last) => last.nextCursor ?? null,
    refetchInterval: (query) =>
      query.state.data?.pages.some((p) => p.items.some((j) => isActiveJob(j.status))) ? 3_000 : false,
    placeholderData: (previous) => previous,
  });
}
