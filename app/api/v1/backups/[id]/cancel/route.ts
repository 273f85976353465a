import { route, json } from "@/lib/api/route";
import { jobIdParams } from "@/lib/api/schemas/backups";

export const dynamic = "force-dynamic";

// POST /api/v1/backups/{id}/cancel – stop the job's mover and exports, remove incomplete targets
export const POST = route(
  { access: "operator", action: "backup.cancel", params: jobIdParams },
  async ({ runtime, params, actor }) => json(await runtime.control.cancelBackup(params.id, actor.name), 202),
);
