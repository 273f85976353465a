import { route } from "@/lib/api/route";
import { restoreIdParams } from "@/lib/api/schemas/restores";
import { restoreEventStream } from "@/lib/restore/event-stream";

export const dynamic = "force-dynamic";

// GET /api/v1/restores/{id}/events – server-sent events of the restore until it ends (the job
// streams' per-caller cap counts these too)
export const GET = route({ access: "viewer", params: restoreIdParams }, async ({ runtime, params, req, actor }) => {
  const { db, restores, backups, config } = runtime;
  const deps = {
    db,
    bus: restores.bus,
    channel: (id: string) => restores.channel(id),
    streams: backups.events.streams,
    maxStreamsPerCaller: config.maxEventStreamsPerCaller,
  };
  return restoreEventStream(deps, params.id, actor, req.signal);
});
