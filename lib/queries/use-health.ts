"use client";
import { useQuery } from "@tanstack/react-query";
import { queryKeys } from "./keys";

export type HealthAnswer = { status: string; db: string; qemuNbd: string; problems?: string[] };

export function useHealth() {
  return useQuery({
    queryKey: queryKeys.health(),
    // Health answers 503 with the same body, saying which part is down: read it either way.
    queryFn: async (): Promise<HealthAnswer> => {
      const response = await fetch("/api/v1/health", { headers: { accept: "application/json" } });
      const body = (await response.json().catch(() => undefined)) as HealthAnswer | { error?: { message?: string } } | undefined;
      if (body && "status" in body) return body;
      return { status: "degraded", db: "unknown", qemuNbd: "unknown", problems: [(body as { error?: { message?: string } })?.error?.message ?? `HTTP ${response.status}`] };
    },
    refetchInterval: 10_000,
  });
}
