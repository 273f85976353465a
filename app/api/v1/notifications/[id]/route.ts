import { json, route } from "@/lib/api/route";
import { notificationIdParams } from "@/lib/api/schemas/notifications";
import { deleteNotification } from "@/lib/notify/store";

export const dynamic = "force-dynamic";

// DELETE /api/v1/notifications/{id} – with its delivery log
export const DELETE = route({ access: "admin", action: "notification.delete", params: notificationIdParams }, async ({ runtime, params }) =>
  json(await deleteNotification(runtime.db, params.id)),
);
