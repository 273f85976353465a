"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";

/** POST /nbd/qemu-nbd/stop {port} → { stopped: [port] } once the process has exited. */
export function useStopExport() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (port: number) =>
      apiFetch<{ stopped: number[] }>("/nbd/qemu-nbd/stop", { method: "POST", json: { port } }),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: queryKeys.exports() });
      void client.invalidateQueries({ queryKey: queryKeys.ports() });
    },
  });
}
