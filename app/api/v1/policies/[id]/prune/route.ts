import { json, route } from "@/lib/api/route";
import { policyIdParams } from "@/lib/api/schemas/policies";

export const dynamic = "force-dynamic";

// POST /api/v1/policies/{id}/prune – apply retention to the policy's VM now (chain-aware merges),
// each node pruning its own points (decision 033)
export const POST = route(
  { access: "operator", action: "policy.prune", params: policyIdParams },
  async ({ runtime, params, actor, audit }) => {
    const outcome = await runtime.policies.prune(params.id, actor.name);
    const { removed, merged, kept, skipped } = outcome;
    audit.details = { removed, merged, kept, skipped };
    return json({ removed, merged, skipped });
  },
);
