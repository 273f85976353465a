"use client";
import { useQuery } from "@tanstack/react-query";
import type { Health } from "@/lib/api/schemas/health";
import { queryKeys } from "./keys";

/** GET /health, or what the console says when no health answer came (the database state unknown). */
type HealthCheck = Omit<Health, "db"> & { db: Health["db"] | "unknown" };

export function useHealth() {
  return useQuery({
    queryKey: queryKeys.health(),
    // Health answers 503 with the same body, saying which part is down: read it either way.
    queryFn: async (): Promise<HealthCheck> => {
      const response = await fetch("/api/v1/health", { headers: { accept: "application/json" } });
      const body = (await response.json().catch(() => undefined)) as
        Health | { error?: { message?: string } } | undefined;
      if (body && "status" in body) return body;
      const problem = body?.error?.message ?? `HTTP ${response.status}`;
      return { status: "degraded", db: "unknown", qemuNbd: "unknown", problems: [problem] };
    },
    refetchInterval: 10_000,
  });
}
