import { route } from "@/lib/api/route";
import { jobIdParams } from "@/lib/api/schemas/backups";
import { jobEventStream } from "@/lib/backup/event-stream";

export const dynamic = "force-dynamic";

// GET /api/v1/backups/{id}/events – server-sent events of job and disk updates until the job ends
// (429 too_many_streams beyond NBDHUB_MAX_EVENT_STREAMS_PER_CALLER open streams of one caller)
export const GET = route({ access: "viewer", params: jobIdParams }, async ({ runtime, params, req, actor }) => {
  const { db, backups, config } = runtime;
  const streams = { db, events: backups.events, maxStreamsPerCaller: config.maxEventStreamsPerCaller };
  return jobEventStream(streams, params.id, actor, req.signal);
});
