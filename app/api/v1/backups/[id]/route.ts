import { route, json } from "@/lib/api/route";
import { jobIdParams } from "@/lib/api/schemas/backups";
import { jobWithEvents } from "@/lib/backup/job-reads";

export const dynamic = "force-dynamic";

// GET /api/v1/backups/{id} – one job with its disks and its event log
export const GET = route({ access: "viewer", params: jobIdParams }, async ({ runtime, params }) =>
  json(await jobWithEvents(runtime.db, params.id)),
);
