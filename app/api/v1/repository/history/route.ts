import { json, route } from "@/lib/api/route";
import { repositoryHistoryQuery } from "@/lib/api/schemas/policies";
import { repositoryHistory } from "@/lib/stats/repository";

export const dynamic = "force-dynamic";

// GET /api/v1/repository/history?hours=24 – the repository's use over time, for the dashboard's chart
export const GET = route({ access: "viewer", query: repositoryHistoryQuery }, async ({ runtime, query }) =>
  json(await repositoryHistory(runtime.db, query.hours)),
);
