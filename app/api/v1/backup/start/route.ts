import { route } from "@/lib/api/route";
import { startBackupBody } from "@/lib/api/schemas/backups";
import { startBackupHandler } from "@/lib/api/start-backup";

export const dynamic = "force-dynamic";

// POST /api/v1/backup/start – the seed's name for POST /backups
export const POST = route({ access: "operator", action: "backup.start", body: startBackupBody }, startBackupHandler);
