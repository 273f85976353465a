// GET /api/v1/nbd/qemu-nbd – the running exports (starting, ready or stopping); with
// ?recent=SECONDS also those that ended (stopped or crashed) in the last SECONDS; ?node=NAME:
// that node's only
import { json, route } from "@/lib/api/route";
import { exportListQuery, exportListSchema } from "@/lib/api/schemas/nbd";
import { listRecentExports } from "@/lib/nbd/export-list";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer", query: exportListQuery }, async ({ runtime, query }) => {
  const processes =
    query.recent === undefined
      ? await runtime.exports.list(query.node)
      : await listRecentExports(runtime.db, runtime.config.nbdHost, query.recent, query.node);
  return json(exportListSchema.parse({ count: processes.length, processes }));
});
