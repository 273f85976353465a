import { route, json } from "@/lib/api/route";
import { listVms } from "@/lib/restore/points";

export const dynamic = "force-dynamic";

// GET /api/v1/vms – every VM with a completed backup: disks, points, last backup, bytes kept
export const GET = route({ access: "viewer" }, async ({ runtime }) => json({ items: await listVms(runtime.db) }));
