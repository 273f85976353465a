// GET /api/v1/metrics/prometheus – the same metrics in the Prometheus text format
import { route } from "@/lib/api/route";

export const dynamic = "force-dynamic";

export const GET = route({ access: "viewer" }, async ({ runtime }) => {
  const { contentType, body } = await runtime.metrics.prometheus();
  return new Response(body, { status: 200, headers: { "content-type": contentType, "cache-control": "no-store" } });
});
