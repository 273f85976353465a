"use client";
// Notification targets and their delivery logs (admin page). Types are the API's
// (docs/api.md "Policies, repository and notifications as built"); the URL is only ever sent,
// never read back: the server answers it masked.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { apiFetch } from "./api-fetch";

export const NOTIFY_EVENTS = ["failed", "completed", "stale_vm"] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];
export type NotifyKind = "webhook" | "slack";

export type Notification = {
  id: string;
  name: string;
  /** Masked: "https://host/…". */
  url: string;
  kind: NotifyKind;
  on: NotifyEvent[];
  staleAfterHours: number | null;
  createdAt: string;
  createdBy: string | null;
};
export type NotificationBody = {
  name: string;
  url?: string;
  kind: NotifyKind;
  on: NotifyEvent[];
  staleAfterHours?: number;
};
export type Delivery = {
  id: string;
  event: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  statusCode: number | null;
  error: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
};

const KEY = ["notifications"] as const;
const deliveriesKey = (id: string) => ["notifications", id, "deliveries"] as const;
const path = (id: string) => `/notifications/${encodeURIComponent(id)}`;

export function useNotifications() {
  return useQuery({ queryKey: KEY, queryFn: () => apiFetch<{ items: Notification[] }>("/notifications") });
}

/** The log refreshes while open: retries of pending deliveries land on their own. */
export function useDeliveries(id: string | null) {
  return useQuery({
    queryKey: deliveriesKey(id ?? ""),
    queryFn: () => apiFetch<{ items: Delivery[] }>(`${path(id ?? "")}/deliveries`),
    enabled: id !== null,
    refetchInterval: 5_000,
  });
}

export function useNotificationMutations() {
  const qc = useQueryClient();
  const refresh = () => qc.invalidateQueries({ queryKey: KEY });
  return {
    save: useMutation({
      mutationFn: ({ id, body }: { id: string | null; body: NotificationBody }) =>
        apiFetch<Notification>(id ? path(id) : "/notifications", { method: id ? "PATCH" : "POST", json: body }),
      onSuccess: refresh,
    }),
    remove: useMutation({
      mutationFn: (id: string) => apiFetch<{ deleted: string }>(path(id), { method: "DELETE" }),
      onSettled: refresh,
    }),
    test: useMutation({
      mutationFn: (id: string) => apiFetch<Delivery>(`${path(id)}/test`, { method: "POST" }),
      onSettled: (_data, _error, id) => qc.invalidateQueries({ queryKey: deliveriesKey(id) }),
    }),
  };
}
