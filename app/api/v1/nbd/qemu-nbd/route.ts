// GET /api/v1/nbd/qemu-nbd – the running exports (starting, ready or stopping)
import { json, route } from "@/lib/api/route";
import { exportListSchema } from "@/lib/api/schemas/nbd";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer" }, async ({ runtime }) => {
  const processes = await runtime.exports.list();
  return json(exportListSchema.parse({ count: processes.length, processes }));
});
