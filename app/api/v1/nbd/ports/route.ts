// GET /api/v1/nbd/ports – this node's pool: range, counts and every allocation
import { json, route } from "@/lib/api/route";
import { poolSchema } from "@/lib/api/schemas/nbd";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer" }, async ({ runtime }) => {
  const [counts, allocations] = await Promise.all([runtime.ports.counts(), runtime.ports.list()]);
  return json(poolSchema.parse({ node: runtime.ports.node, ...counts, allocations }));
});
