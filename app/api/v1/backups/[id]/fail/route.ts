import { route, json } from "@/lib/api/route";
import { failBody, jobIdParams } from "@/lib/api/schemas/backups";

export const dynamic = "force-dynamic";

// POST /api/v1/backups/{id}/fail – an external client gives up: the job fails and is cleaned up
export const POST = route(
  { access: "operator", action: "backup.fail", params: jobIdParams, body: failBody },
  async ({ runtime, params, body }) => json(await runtime.backups.failExternal(params.id, body.message)),
);
