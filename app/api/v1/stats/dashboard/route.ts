// GET /api/v1/stats/dashboard – jobs by status since `since` (default: today, UTC), bytes moved per
// hour over 24 h, the last failures
import { z } from "zod";
import { json, route } from "@/lib/api/route";
import { dashboardStats } from "@/lib/stats/dashboard";

export const dynamic = "force-dynamic";

const query = z.object({
  since: z.iso.datetime({ offset: true, error: "an ISO-8601 time such as 2026-01-31T00:00:00Z" }).optional(),
});

export const GET = route({ access: "viewer", query }, async ({ query, runtime }) =>
  json(await dashboardStats(runtime.db, { since: query.since ? new Date(query.since) : undefined })),
);
