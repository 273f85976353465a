"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import type { ExportList } from "./types";

/**
 * The qemu-nbd processes (GET /nbd/qemu-nbd), refreshed every 2 s. With `recentSeconds`, also
 * the exports that ended in that time (GET /nbd/qemu-nbd?recent=…), for the Ports grid.
 */
export function useExports({ recentSeconds }: { recentSeconds?: number } = {}) {
  return useQuery({
    queryKey: recentSeconds === undefined ? queryKeys.exports() : queryKeys.recentExports(recentSeconds),
    queryFn: () =>
      apiFetch<ExportList>(recentSeconds === undefined ? "/nbd/qemu-nbd" : `/nbd/qemu-nbd?recent=${recentSeconds}`),
    refetchInterval: 2_000,
  });
}
