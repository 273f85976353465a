import { route, json } from "@/lib/api/route";
import { restoreIdParams } from "@/lib/api/schemas/restores";

export const dynamic = "force-dynamic";

// POST /api/v1/restores/{id}/cancel – an export ends; a copy stops and its partial output is removed
export const POST = route(
  { access: "operator", action: "restore.cancel", params: restoreIdParams },
  async ({ runtime, params, actor, audit }) => {
    const restore = await runtime.control.cancelRestore(params.id, actor.name);
    audit.target = `restore:${restore.id} point:${restore.jobId}`;
    return json(restore, 202);
  },
);
