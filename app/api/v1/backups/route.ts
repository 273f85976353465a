import { route, json } from "@/lib/api/route";
import { listBackupsQuery, startBackupBody } from "@/lib/api/schemas/backups";
import { startBackupHandler } from "@/lib/api/start-backup";
import { listJobs } from "@/lib/backup/job-reads";

export const dynamic = "force-dynamic";

// GET /api/v1/backups – job history, newest first, keyset-paginated
export const GET = route({ access: "viewer", query: listBackupsQuery }, async ({ runtime, query }) =>
  json(await listJobs(runtime.db, query)),
);

// POST /api/v1/backups – start a backup job (202: it runs in the background)
export const POST = route({ access: "operator", action: "backup.start", body: startBackupBody }, startBackupHandler);
