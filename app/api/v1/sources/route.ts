import { answeringBusy } from "@/lib/api/busy";
import { route, json } from "@/lib/api/route";
import { listSources } from "@/lib/backup/sources-list";

export const dynamic = "force-dynamic";

// GET /api/v1/sources – disk images under the sources root, for the New backup form
export const GET = route({ access: "viewer" }, async ({ runtime }) =>
  answeringBusy(async () => json(await listSources(runtime.config.sourcesDir))),
);
