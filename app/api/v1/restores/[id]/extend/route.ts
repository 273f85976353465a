import { route, json } from "@/lib/api/route";
import { extendRestoreBody, restoreIdParams } from "@/lib/api/schemas/restores";

export const dynamic = "force-dynamic";

// POST /api/v1/restores/{id}/extend – an export restore serves ttlSeconds longer
export const POST = route(
  { access: "operator", action: "restore.extend", params: restoreIdParams, body: extendRestoreBody },
  async ({ runtime, params, body, audit }) => {
    const restore = await runtime.control.extendRestore(params.id, body.ttlSeconds);
    audit.target = `restore:${restore.id} point:${restore.jobId}`;
    audit.details = { ttlSeconds: body.ttlSeconds, expiresAt: restore.expiresAt };
    return json(restore);
  },
);
