// GET /api/v1/stats/pool-history?range=1h|24h&node= – the port pool's utilisation over time (one
// node's, or every node's summed), downsampled for a chart
import { json, route } from "@/lib/api/route";
import { poolHistoryQuery as query } from "@/lib/api/schemas/stats";
import { poolHistory } from "@/lib/stats/dashboard";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer", query }, async ({ query, runtime }) =>
  json(await poolHistory(runtime.db, query.range, { node: query.node })),
);
