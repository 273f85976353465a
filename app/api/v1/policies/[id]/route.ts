import { json, route } from "@/lib/api/route";
import { policyIdParams, updatePolicyBody } from "@/lib/api/schemas/policies";
import { deletePolicy, getPolicy, updatePolicy } from "@/lib/policy/store";

export const dynamic = "force-dynamic";

// GET /api/v1/policies/{id}
export const GET = route({ access: "viewer", params: policyIdParams }, async ({ runtime, params }) =>
  json(await getPolicy(runtime.db, params.id)),
);

// PATCH /api/v1/policies/{id} – change fields (a new schedule or enabling again: no catch-up of the past)
export const PATCH = route(
  { access: "admin", action: "policy.update", params: policyIdParams, body: updatePolicyBody },
  async ({ runtime, params, body }) => json(await updatePolicy(runtime.db, runtime.config, params.id, body)),
);

// DELETE /api/v1/policies/{id} – its jobs and restore points stay
export const DELETE = route(
  { access: "admin", action: "policy.delete", params: policyIdParams },
  async ({ runtime, params }) => json(await deletePolicy(runtime.db, params.id)),
);
