"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import { refresh } from "./refresh";

/**
 * POST /nbd/qemu-nbd/stop {port, node} → { stopped: [port] } once the process has exited. The
 * export's node is named: the list shows every node's exports, and another node's is refused
 * (409 other_node) rather than taken for this node's export on the same port number.
 */
export function useStopExport() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ port, node }: { port: number; node: string }) =>
      apiFetch<{ stopped: number[] }>("/nbd/qemu-nbd/stop", { method: "POST", json: { port, node } }),
    onSettled: () => refresh(client, [queryKeys.exports(), queryKeys.ports()]),
  });
}
