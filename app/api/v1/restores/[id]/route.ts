import { route, json } from "@/lib/api/route";
import { restoreIdParams } from "@/lib/api/schemas/restores";
import { getRestore } from "@/lib/restore/reads";

export const dynamic = "force-dynamic";

// GET /api/v1/restores/{id}
export const GET = route({ access: "viewer", params: restoreIdParams }, async ({ runtime, params }) =>
  json(await getRestore(runtime.db, params.id)),
);
