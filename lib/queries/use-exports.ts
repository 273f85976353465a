"use client";
import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { queryKeys } from "./keys";
import type { ExportList } from "./types";

/** The qemu-nbd processes (GET /nbd/qemu-nbd), refreshed every 2 s. */
export function useExports() {
  return useQuery({ queryKey: queryKeys.exports(), queryFn: () => apiFetch<ExportList>("/nbd/qemu-nbd"), refetchInterval: 2_000 });
}
