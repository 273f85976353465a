import { json, route } from "@/lib/api/route";
import { notificationIdParams } from "@/lib/api/schemas/notifications";
import { listDeliveries } from "@/lib/notify/store";

export const dynamic = "force-dynamic";

// GET /api/v1/notifications/{id}/deliveries – the latest deliveries, newest first: status codes, attempts, next try
export const GET = route({ access: "admin", params: notificationIdParams }, async ({ runtime, params }) =>
  json(await listDeliveries(runtime.db, params.id)),
);
