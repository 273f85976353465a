import { route, json } from "@/lib/api/route";
import { diskParams, progressBody } from "@/lib/api/schemas/backups";
import { diskView } from "@/lib/backup/serialize";

export const dynamic = "force-dynamic";

// POST /api/v1/backups/{id}/disks/{diskId}/progress – an external client reports bytes written
export const POST = route(
  { access: "operator", action: "backup.progress", params: diskParams, body: progressBody },
  async ({ runtime, params, body, audit }) => {
    const disk = await runtime.backups.progress(params.id, params.diskId, body);
    // A client reports every second or so: an accepted report is not worth an audit row each
    // time (the job's own rows say what happened); refused ones still are.
    audit.recorded = true;
    return json(diskView(disk));
  },
);
