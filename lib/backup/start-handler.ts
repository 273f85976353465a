// The handler shared by POST /backups and its seed-era alias POST /backup/start.
import "server-only";
import { answeringBusy } from "@/lib/api/busy";
import { json, type RouteContext } from "@/lib/api/route";
import type { StartBackupRequest } from "@/lib/api/schemas/backups";

export async function startBackupHandler({ runtime, body, actor }: RouteContext<undefined, undefined, StartBackupRequest>) {
  return answeringBusy(async () => json(await runtime.backups.create(body, actor.name), 202));
}
