import { json, route } from "@/lib/api/route";
import { repositoryView } from "@/lib/stats/repository";

export const dynamic = "force-dynamic";

// GET /api/v1/repository – total, free, used by backups, reserve, bytes per VM
export const GET = route({ access: "viewer" }, async ({ runtime }) =>
  json(await repositoryView(runtime.db, runtime.config)),
);
