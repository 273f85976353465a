import { route, json } from "@/lib/api/route";
import { vmParams } from "@/lib/api/schemas/restores";
import { restorePointsOf } from "@/lib/restore/points";

export const dynamic = "force-dynamic";

// GET /api/v1/vms/{vmName}/restore-points – the VM's completed backups, newest first, with chains
export const GET = route({ access: "viewer", params: vmParams }, async ({ runtime, params }) =>
  json({ items: await restorePointsOf(runtime.db, params.vmName) }),
);
