import { json, route } from "@/lib/api/route";
import { createNotificationBody } from "@/lib/api/schemas/notifications";
import { createNotification, listNotifications } from "@/lib/notify/store";

export const dynamic = "force-dynamic";

// GET /api/v1/notifications – the webhooks, URLs masked
export const GET = route({ access: "admin" }, async ({ runtime }) =>
  json({ items: await listNotifications(runtime.db) }),
);

// POST /api/v1/notifications – a new webhook; its URL is a secret: masked in the answer, kept out
// of the audit row
export const POST = route(
  { access: "admin", action: "notification.create", body: createNotificationBody },
  async ({ runtime, body, actor, audit }) => {
    const created = await createNotification(runtime.db, body, actor.name);
    audit.target = `notification:${created.id}`;
    audit.details = { name: created.name, kind: created.kind, on: created.on, url: created.url };
    return json(created, 201);
  },
);
