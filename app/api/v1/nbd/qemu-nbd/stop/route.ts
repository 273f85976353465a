// POST /api/v1/nbd/qemu-nbd/stop – stop the export on a port ({port}) or all of a job's ({jobId});
// answers after they exited. Another node's export is stopped by that node (asked through Postgres, decision 030).
import { notFound } from "@/lib/api/errors";
import { json, route } from "@/lib/api/route";
import { stopBody, stoppedSchema } from "@/lib/api/schemas/nbd";

export const dynamic = "force-dynamic";

export const POST = route({ access: "operator", action: "export.stop", body: stopBody }, async ({ runtime, body }) => {
  const results =
    body.port !== undefined
      ? [await runtime.control.stopExport(body.port, body.node)].filter((r) => r !== null)
      : await runtime.control.stopJobExports(body.jobId!);
  if (body.port !== undefined && results.length === 0) throw notFound(`a running export on port ${body.port}`);
  return json(
    stoppedSchema.parse({
      stopped: results.map((r) => r.port),
      unclean: results.filter((r) => !r.clean).map((r) => r.port),
    }),
  );
});
