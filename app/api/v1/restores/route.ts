import { route, json } from "@/lib/api/route";
import { listRestoresQuery, startRestoreBody } from "@/lib/api/schemas/restores";
import { listRestores } from "@/lib/restore/reads";

export const dynamic = "force-dynamic";

// GET /api/v1/restores – restores, newest first, keyset-paginated
export const GET = route({ access: "viewer", query: listRestoresQuery }, async ({ runtime, query }) =>
  json(await listRestores(runtime.db, query)),
);

// POST /api/v1/restores – serve a restore point read-only, or copy it back (202: it runs on)
export const POST = route(
  { access: "operator", action: "restore.start", body: startRestoreBody },
  async ({ runtime, body, actor, audit }) => {
    const to = body.destination && ("nbd" in body.destination ? body.destination.nbd : body.destination.path);
    const where = to ? ` to ${to}` : "";
    audit.target = `point:${body.jobId} ${body.mode}${where}`;
    const restore = await runtime.control.startRestore(body, actor.name);
    audit.target = `restore:${restore.id} ${audit.target}`;
    return json(restore, 202);
  },
);
