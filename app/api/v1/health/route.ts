// GET /api/v1/health – is the database reachable and qemu-nbd runnable? (open to all)
import { route, json, currentRuntime } from "@/lib/api/route";
import type { Health } from "@/lib/api/schemas/health";
import { checkHealth } from "@/lib/runtime/health";

export const dynamic = "force-dynamic";

export const GET = route({ access: "public", optionalRuntime: true }, async () => {
  const runtime = currentRuntime();
  const health = runtime ? await runtime.health() : await checkHealth(undefined);
  const body: Health = {
    status: health.status === "ok" ? "ok" : runtime ? "degraded" : "starting",
    db: health.db,
    qemuNbd: health.qemuNbd,
    ...(health.problems.length ? { problems: health.problems } : {}),
  };
  return json(body, health.status === "ok" ? 200 : 503);
});
