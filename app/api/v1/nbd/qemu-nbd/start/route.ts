// POST /api/v1/nbd/qemu-nbd/start – export a qcow2 image over NBD; answers once a client can connect
import { json, route } from "@/lib/api/route";
import { startedExportSchema, startExportBody } from "@/lib/api/schemas/nbd";

export const dynamic = "force-dynamic";

export const POST = route(
  { access: "operator", action: "export.start", body: startExportBody },
  async ({ runtime, body }) => json(startedExportSchema.parse(await runtime.exports.start(body)), 201),
);
