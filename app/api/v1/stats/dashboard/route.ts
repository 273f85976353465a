// GET /api/v1/stats/dashboard – jobs by status since `since` (default: today, UTC), bytes moved per
// hour over 24 h, the last failures
import { json, route } from "@/lib/api/route";
import { dashboardQuery as query } from "@/lib/api/schemas/stats";
import { dashboardStats } from "@/lib/stats/dashboard";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer", query }, async ({ query, runtime }) =>
  json(await dashboardStats(runtime.db, { since: query.since ? new Date(query.since) : undefined })),
);
