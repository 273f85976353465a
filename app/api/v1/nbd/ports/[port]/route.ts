// GET /api/v1/nbd/ports/{port} – one allocation, or 404
import { notFound } from "@/lib/api/errors";
import { json, route } from "@/lib/api/route";
import { allocationSchema, portParams } from "@/lib/api/schemas/nbd";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer", params: portParams }, async ({ runtime, params }) => {
  const allocation = await runtime.ports.get(params.port);
  if (!allocation) throw notFound(`an allocation of port ${params.port}`);
  return json(allocationSchema.parse(allocation));
});
