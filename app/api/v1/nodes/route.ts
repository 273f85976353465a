// GET /api/v1/nodes – every node (server process) on the database: identity, status from its
// heartbeat, its pool's use and its running jobs
import { json, route } from "@/lib/api/route";
import { nodeListSchema } from "@/lib/api/schemas/nodes";
import { listNodes } from "@/lib/node/list";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer" }, async ({ runtime }) =>
  json(nodeListSchema.parse({ items: await listNodes(runtime.db, runtime.config.nodeLeaseSeconds) })),
);
