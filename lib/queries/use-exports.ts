"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { ExportList } from "./types";

/**
 * The qemu-nbd processes (GET /nbd/qemu-nbd), refreshed every 2 s. With `recentSeconds`, also
 * the exports that ended in that time (GET /nbd/qemu-nbd?recent=…), for the Ports grid.
 */
export function useExports({ recentSeconds }: { recentSeconds?: number } = {}) {
  const [key, path] =
    recentSeconds === undefined
      ? [queryKeys.exports(), "/nbd/qemu-nbd"]
      : [queryKeys.recentExports(recentSeconds), `/nbd/qemu-nbd?recent=${recentSeconds}`];
  return useApiQuery<ExportList>(key, path, { refetchInterval: 2_000 });
}
