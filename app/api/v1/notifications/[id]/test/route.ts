import { json, route } from "@/lib/api/route";
import { notificationIdParams } from "@/lib/api/schemas/notifications";

export const dynamic = "force-dynamic";

// POST /api/v1/notifications/{id}/test – send a test notice now; the answer is its delivery
// (retried like any other)
export const POST = route(
  { access: "admin", action: "notification.test", params: notificationIdParams },
  async ({ runtime, params, actor }) => json(await runtime.notifier.sendTest(params.id, actor.name)),
);
