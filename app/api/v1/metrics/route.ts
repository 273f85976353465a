// GET /api/v1/metrics – pool, export and (once registered) job numbers as JSON
import { json, route } from "@/lib/api/route";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer" }, async ({ runtime }) => json(await runtime.metrics.json()));
