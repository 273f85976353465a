import { json, route } from "@/lib/api/route";
import { notificationIdParams, updateNotificationBody } from "@/lib/api/schemas/notifications";
import { deleteNotification, maskUrl, updateNotification } from "@/lib/notify/store";

export const dynamic = "force-dynamic";

// PATCH /api/v1/notifications/{id} – change it; a new URL replaces the secret and is audited masked
export const PATCH = route(
  { access: "admin", action: "notification.update", params: notificationIdParams, body: updateNotificationBody },
  async ({ runtime, params, body, audit }) => {
    audit.target = `notification:${params.id}`;
    const updated = await updateNotification(runtime.db, params.id, body);
    audit.details = { ...body, ...(body.url !== undefined ? { url: maskUrl(body.url) } : {}) };
    return json(updated);
  },
);

// DELETE /api/v1/notifications/{id} – with its delivery log
export const DELETE = route(
  { access: "admin", action: "notification.delete", params: notificationIdParams },
  async ({ runtime, params }) => json(await deleteNotification(runtime.db, params.id)),
);
