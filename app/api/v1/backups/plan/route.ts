import { answeringBusy } from "@/lib/api/busy";
import { route, json } from "@/lib/api/route";
import { planQuery } from "@/lib/api/schemas/backups";
import { previewPlan } from "@/lib/backup/plan-preview";

export const dynamic = "force-dynamic";

// GET /api/v1/backups/plan – how a disk would be copied if a backup started now (nothing is created)
export const GET = route({ access: "viewer", query: planQuery }, async ({ runtime, query }) =>
  answeringBusy(async () => json(await previewPlan(runtime.db, runtime.config, query))),
);
