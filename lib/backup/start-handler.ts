// The handler shared by POST /backups and its seed-era alias POST /backup/start.
import "server-only";
import { json, type RouteContext } from "@/lib/api/route";
import type { StartBackupRequest } from "@/lib/api/schemas/backups";

export async function startBackupHandler({ runtime, body, actor }: RouteContext<undefined, undefined, StartBackupRequest>) {
  const job = await runtime.backups.create(body, actor.name);
  return json(job, 202);
}
