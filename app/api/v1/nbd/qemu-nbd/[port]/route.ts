// GET /api/v1/nbd/qemu-nbd/{port} – the export on a port (the running one, else the last one), or 404
import { notFound } from "@/lib/api/errors";
import { json, route } from "@/lib/api/route";
import { exportSchema, portParams } from "@/lib/api/schemas/nbd";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer", params: portParams }, async ({ runtime, params }) => {
  const found = await runtime.exports.get(params.port);
  if (!found) throw notFound(`an export on port ${params.port}`);
  return json(exportSchema.parse(found));
});
