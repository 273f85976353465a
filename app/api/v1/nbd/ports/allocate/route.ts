// POST /api/v1/nbd/ports/allocate – hold a port for a job
import { json, route } from "@/lib/api/route";
import { allocateBody, allocationSchema } from "@/lib/api/schemas/nbd";

export const dynamic = "force-dynamic";

export const POST = route(
  { access: "operator", action: "port.allocate", body: allocateBody },
  async ({ runtime, body }) => json(allocationSchema.parse(await runtime.ports.allocate(body)), 201),
);
