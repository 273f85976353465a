import { route, json } from "@/lib/api/route";
import { completeBody, jobIdParams } from "@/lib/api/schemas/backups";

export const dynamic = "force-dynamic";

// POST /api/v1/backups/{id}/complete – an external client is done: stop exports, verify, complete
export const POST = route(
  { access: "operator", action: "backup.complete", params: jobIdParams, body: completeBody },
  async ({ runtime, params, body }) => json(await runtime.backups.complete(params.id, body)),
);
