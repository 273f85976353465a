"use client";
// The audit trail, newest first, one page at a time ("Load older" fetches the next).
import { useInfiniteQuery } from "@tanstack/react-query";
import type { AuditPage } from "@/lib/api/schemas/auth";
import { apiFetch } from "./api-fetch";
import { queryKeys, type AuditFilters } from "./keys";

export function useAudit(filters: AuditFilters) {
  return useInfiniteQuery({
    queryKey: queryKeys.audit(filters),
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
