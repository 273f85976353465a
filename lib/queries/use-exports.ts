"use client";
import { useApiQuery } from "./api-query";
import { queryKeys } from "./keys";
import type { ExportList } from "./types";

/**
 * The qemu-nbd processes (GET /nbd/qemu-nbd), of every node or of `node`, refreshed every 2 s.
 * With `recentSeconds`, also the exports that ended in that time (GET /nbd/qemu-nbd?recent=…),
 * for the Ports grid.
 */
export function useExports({ recentSeconds, node }: { recentSeconds?: number; node?: string } = {}) {
  const [key, path] =
    recentSeconds === undefined
      ? [queryKeys.exports(node), node ? `/nbd/qemu-nbd?node=${encodeURIComponent(node)}` : "/nbd/qemu-nbd"]
      : [queryKeys.recentExports(recentSeconds), `/nbd/qemu-nbd?recent=${recentSeconds}`];
  return useApiQuery<ExportList>(key, path, { refetchInterval: 2_000, placeholderData: (previous) => previous });
}
