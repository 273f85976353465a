"use client";
// The audit trail, newest first, one page at a time ("Load older" fetches the next).
import { useInfiniteQuery } from "@tanstack/react-query";
import { apiFetch } from "@/lib/queries/api-fetch";
import type { AuditPage } from "@/lib/api/schemas/auth";
import { authKeys } from "./keys";

export type AuditFilters = { actor?: string; action?: string; target?: string; result?: string; from?: string; to?: string };

export function useAudit(filters: AuditFilters) {
  return useInfiniteQuery({
    queryKey: authKeys.audit(filters),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
      q.set("limit", "100");
      if (pageParam) q.set("cursor", pageParam);
      return apiFetch<AuditPage>(`/audit?${q.toString()}`);
    },
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
}
