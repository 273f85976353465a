import { json, route } from "@/lib/api/route";
import { policyIdParams } from "@/lib/api/schemas/policies";

export const dynamic = "force-dynamic";

// POST /api/v1/policies/{id}/prune – apply retention to the policy's VM now (chain-aware merges)
export const POST = route(
  { access: "operator", action: "policy.prune", params: policyIdParams },
  async ({ runtime, params, actor, audit }) => {
    const outcome = await runtime.policies.prune(params.id, actor.name);
    audit.details = { removed: outcome.removed, merged: outcome.merged, kept: outcome.kept };
    return json({ removed: outcome.removed, merged: outcome.merged });
  },
);
