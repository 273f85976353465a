// GET /api/v1/audit – the audit trail, newest first, filtered by actor, action, target, result, time (admin)
import { route, json } from "@/lib/api/route";
import { auditQuery } from "@/lib/api/schemas/auth";
import { listAudit } from "@/lib/auth/audit";

export const dynamic = "force-dynamic";

export const GET = route({ access: "admin", query: auditQuery }, async ({ runtime, query }) =>
  json(await listAudit(runtime.db, query)),
);
