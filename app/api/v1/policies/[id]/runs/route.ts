import { json, route } from "@/lib/api/route";
import { policyIdParams } from "@/lib/api/schemas/policies";
import { policyRuns } from "@/lib/policy/store";

export const dynamic = "force-dynamic";

// GET /api/v1/policies/{id}/runs – the latest runs (started, skipped with the reason, failed to start), newest first
export const GET = route({ access: "viewer", params: policyIdParams }, async ({ runtime, params }) =>
  json({ items: await policyRuns(runtime.db, params.id) }),
);
