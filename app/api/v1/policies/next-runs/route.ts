import { json, route } from "@/lib/api/route";
import { nextRunsQuery } from "@/lib/api/schemas/policies";
import { invalidInput } from "@/lib/errors";
import { nextRuns } from "@/lib/policy/schedule";
import { scheduleDetails } from "@/lib/policy/store";

export const dynamic = "force-dynamic";

// GET /api/v1/policies/next-runs?schedule=&timezone=&count= – the next run times of a schedule (the form shows
// them as one types), or 422 naming the field that is wrong: one source of truth, the runner's own rules
export const GET = route({ access: "viewer", query: nextRunsQuery }, async ({ query }) => {
  const details = scheduleDetails(query.schedule, query.timezone);
  if (Object.keys(details).length) throw invalidInput(details, Object.values(details).join(" "));
  const runs = nextRuns(query.schedule, query.timezone, new Date(), query.count);
  return json({ nextRuns: runs.map((d) => d.toISOString()) });
});
