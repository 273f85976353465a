// What the notifications layer takes and answers (the API's schemas are checked against these).
export const NOTIFY_EVENTS = ["failed", "completed", "stale_vm"] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];
export type NotifyKind = "webhook" | "slack";

export type NotificationInput = {
  name: string;
  url: string;
  kind: NotifyKind;
  on: NotifyEvent[];
  staleAfterHours?: number;
};

/** A change: any field of the input; a new `url` replaces the stored one (the old is never shown). */
export type NotificationPatch = Partial<NotificationInput>;

export type NotificationView = {
  id: string;
  name: string;
  /** Masked: scheme and host, then "/…". The URL itself is never answered after creation. */
  url: string;
  kind: NotifyKind;
  on: NotifyEvent[];
  staleAfterHours: number | null;
  createdAt: string;
  createdBy: string | null;
};

export type DeliveryView = {
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
