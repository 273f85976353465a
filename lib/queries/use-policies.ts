"use client";
// Policies for the console (GET /policies and friends). Types are the API's (docs/api.md).
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";
import { useApiQuery } from "./api-query";

export type PolicyRun = {
  at: string;
  slot: string | null;
  trigger: string;
  status: string;
  reason: string | null;
  jobId: string | null;
  jobType: string | null;
  jobStatus: string | null;
};
export type Retention = { keepLast: number; keepDaily: number; keepWeekly: number; keepMonthly: number };
export type Policy = {
  id: string;
  name: string;
  vmName: string;
  disks: { diskId?: string; source: string }[];
  schedule: string;
  timezone: string;
  fullEvery: number;
  retention: Retention;
  enabled: boolean;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastJobId: string | null;
  lastRun: PolicyRun | null;
};
export type PolicyBody = Omit<Policy, "id" | "nextRunAt" | "lastRunAt" | "lastJobId" | "lastRun">;
export type PrunePreview = {
  keep: { jobId: string; reasons: string[]; node: string }[];
  remove: { jobId: string; reason: string; node: string }[];
  merged: string[];
  /** Nodes whose points are left alone (lost, busy, no answer), and why (decision 033). */
  skipped: { node: string; code: string; reason: string }[];
};

const KEY = ["policies"] as const;

export function usePolicies() {
  return useApiQuery<{ items: Policy[] }>(KEY, "/policies", { refetchInterval: 3_000 });
}

/** The next run times of a schedule as the server (the runner's own rules) computes them. */
export function useNextRuns(schedule: string, timezone: string) {
  const query = new URLSearchParams({ schedule, timezone, count: "5" });
  const key = ["policies", "next-runs", schedule, timezone];
  return useApiQuery<{ nextRuns: string[] }>(key, `/policies/next-runs?${query.toString()}`, {
    enabled: schedule.trim().length > 0,
    retry: false,
  });
}

export function usePrunePreview(id: string | null) {
  return useApiQuery<PrunePreview>(["policies", "prune-preview", id], `/policies/${id}/prune-preview`, {
    enabled: id !== null,
    refetchInterval: 5_000,
  });
}

export function useSavePolicy() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string | null; body: PolicyBody }) =>
      apiFetch<Policy>(id ? `/policies/${id}` : "/policies", { method: id ? "PATCH" : "POST", json: body }),
    onSuccess: () => client.invalidateQueries({ queryKey: KEY }),
  });
}

export function usePolicyAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action }: { id: string; action: "run" | "prune" | "enable" | "disable" }) =>
      action === "run" || action === "prune"
        ? apiFetch<unknown>(`/policies/${id}/${action}`, { method: "POST" })
        : apiFetch<unknown>(`/policies/${id}`, { method: "PATCH", json: { enabled: action === "enable" } }),
    onSuccess: () => client.invalidateQueries({ queryKey: KEY }),
  });
}
