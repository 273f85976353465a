// The handler shared by POST /backups and its seed-era alias POST /backup/start: 202 with the
// job, or 503 busy with Retry-After when the server is inspecting too many sources already.
import "server-only";
import { answeringBusy } from "./busy";
import { json, type RouteContext } from "./route";
import type { StartBackupRequest } from "./schemas/backups";

type StartContext = RouteContext<undefined, undefined, StartBackupRequest>;

export async function startBackupHandler({ runtime, body, actor }: StartContext) {
  return answeringBusy(async () => json(await runtime.control.startBackup(body, actor.name), 202));
}
