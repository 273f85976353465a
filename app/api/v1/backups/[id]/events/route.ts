import { route } from "@/lib/api/route";
import { jobIdParams } from "@/lib/api/schemas/backups";
import { jobEventStream } from "@/lib/backup/event-stream";

export const dynamic = "force-dynamic";

// GET /api/v1/backups/{id}/events – server-sent events of job and disk updates until the job ends
export const GET = route({ access: "viewer", params: jobIdParams }, async ({ runtime, params, req }) => jobEventStream(runtime, params.id, req.signal));
