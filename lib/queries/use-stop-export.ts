"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import { refresh } from "./refresh";

/** POST /nbd/qemu-nbd/stop {port} → { stopped: [port] } once the process has exited. */
export function useStopExport() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (port: number) =>
      apiFetch<{ stopped: number[] }>("/nbd/qemu-nbd/stop", { method: "POST", json: { port } }),
    onSettled: () => refresh(client, [queryKeys.exports(), queryKeys.ports()]),
  });
}
