"use client";
// Notification targets and their delivery logs (admin page). Types are the API's
// (docs/api.md "Policies, repository and notifications as built"); the URL is only ever sent,
// never read back: the server answers it masked.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { DeliveryView, NotificationView, NotifyEvent, NotifyKind } from "@/lib/notify/types";
import { apiFetch } from "./api-fetch";
import { useApiQuery } from "./api-query";

export { NOTIFY_EVENTS, type NotifyEvent, type NotifyKind } from "@/lib/notify/types";
/** A target as the API answers it: the URL masked ("https://host/…"). */
export type Notification = NotificationView;
export type Delivery = DeliveryView;
export type NotificationBody = {
  name: string;
  url?: string;
  kind: NotifyKind;
  on: NotifyEvent[];
  staleAfterHours?: number;
};

const KEY = ["notifications"] as const;
const deliveriesKey = (id: string) => ["notifications", id, "deliveries"] as const;
const path = (id: string) => `/notifications/${encodeURIComponent(id)}`;

export function useNotifications() {
  return useApiQuery<{ items: Notification[] }>(KEY, "/notifications");
}

/** The log refreshes while open: retries of pending deliveries land on their own. */
export function useDeliveries(id: string | null) {
  return useApiQuery<{ items: Delivery[] }>(deliveriesKey(id ?? ""), `${path(id ?? "")}/deliveries`, {
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
