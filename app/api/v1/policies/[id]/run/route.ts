import { json, route } from "@/lib/api/route";
import { answeringBusy } from "@/lib/api/busy";
import { policyIdParams } from "@/lib/api/schemas/policies";

export const dynamic = "force-dynamic";

// POST /api/v1/policies/{id}/run – run now, outside the schedule (202 with the job)
export const POST = route(
  { access: "operator", action: "policy.run", params: policyIdParams },
  async ({ runtime, params, actor, audit }) =>
    answeringBusy(async () => {
      const jobId = await runtime.policies.runNow(params.id, actor.name);
      audit.details = { jobId };
      return json(await runtime.backups.view(jobId), 202);
    }),
);
