import { json, route } from "@/lib/api/route";
import { createPolicyBody } from "@/lib/api/schemas/policies";
import { createPolicy, listPolicies } from "@/lib/policy/store";

export const dynamic = "force-dynamic";

// GET /api/v1/policies – every policy, with its next and last run
export const GET = route({ access: "viewer" }, async ({ runtime }) => json({ items: await listPolicies(runtime.db) }));

// POST /api/v1/policies – a new policy (admins: it makes backups on its own)
export const POST = route(
  { access: "admin", action: "policy.create", body: createPolicyBody },
  async ({ runtime, body, actor, audit }) => {
    const policy = await createPolicy(runtime.db, runtime.config, body, actor.name);
    audit.target = `policy:${policy.id}`;
    return json(policy, 201);
  },
);
