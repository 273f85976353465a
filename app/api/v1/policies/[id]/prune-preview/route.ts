import { json, route } from "@/lib/api/route";
import { policyIdParams } from "@/lib/api/schemas/policies";

export const dynamic = "force-dynamic";

// GET /api/v1/policies/{id}/prune-preview – what a prune would keep (and by which rule) and remove; nothing runs
export const GET = route({ access: "viewer", params: policyIdParams }, async ({ runtime, params }) =>
  json(await runtime.policies.preview(params.id)),
);
