// Figure 5, history: with many finished jobs in the database (inserted with one
// INSERT … SELECT generate_series: set-up, not measured), the first page and a filtered page
// of GET /backups, beside the same two queries Prisma runs for it (jobs page, then their
// disks) sent straight to Postgres over one pg connection. Requests alternate, one at a time.
import type { Ctx, FigureResult } from "./common/context";
import { summary } from "./common/stats";

export async function history(ctx: Ctx): Promise<FigureResult> {
  const jobs = ctx.quick ? 10_000 : 100_000;
  const requests = 50;
  const t0 = performance.now();
  await ctx.db.query(
    `INSERT INTO backup_jobs (id, node, vm_name, type, mover, status, created_at, started_at, finished_at, last_activity_at, requested_by, error, total_bytes, transferred_bytes)
     SELECT 'hist-' || lpad(i::text, 7, '0'), 'bench',
            'vm-' || (i % 200),
            CASE WHEN i % 10 = 0 THEN 'full' ELSE 'incremental' END,
            'builtin',
            CASE WHEN i % 17 = 0 THEN 'failed' WHEN i % 29 = 0 THEN 'cancelled' ELSE 'completed' END,
            t, t + interval '1 second', t + interval '3 minutes', t + interval '3 minutes',
            'token:bench',
            CASE WHEN i % 17 = 0 THEN 'disk disk1: the mover (nbdcopy) exited with code 1' END,
            21474836480, 21474836480
     FROM generate_series(1, $1::int) AS i,
          LATERAL (SELECT now() - interval '1 day' - ($1::int - i) * interval '1 minute' AS t) AS s`,
    [jobs],
  );
  await ctx.db.query(
    `INSERT INTO backup_disks (job_id, disk_id, position, source, source_format, target_path, port, export_name, status, total_bytes, transferred_bytes, actual_size, started_at, finished_at)
     SELECT j.id, 'disk' || d, d, 'vm/' || j.vm_name || '-disk' || d || '.qcow2', 'qcow2',
            '/var/lib/nbdhub/repository/' || j.vm_name || '/disk' || d || '/' || j.id || '.qcow2', 10100 + d, j.vm_name || '-disk' || d,
            CASE WHEN j.status = 'completed' THEN 'completed' WHEN j.status = 'failed' AND d = 1 THEN 'failed' WHEN j.status = 'failed' THEN 'completed' ELSE 'cancelled' END,
            10737418240, 10737418240, 4294967296, j.started_at, j.finished_at
     FROM backup_jobs j, generate_series(0, 1) AS d WHERE j.id LIKE 'hist-%'`,
  );
  await ctx.db.query("ANALYZE backup_jobs");
  await ctx.db.query("ANALYZE backup_disks");
  ctx.log(`figure 5: ${jobs} jobs (${jobs * 2} disks) inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const vmName = "vm-7";
  const cols = `"id", "vm_name", "type", "mover", "status", "created_at", "started_at", "finished_at", "last_activity_at", "requested_by", "cancelled_by", "error", "total_bytes", "transferred_bytes"`;
  const sqlPage = async (filtered: boolean) => {
    const where = filtered ? `WHERE "status" = $2 AND "vm_name" = $3` : "";
    const params = filtered ? [51, "failed", vmName] : [51];
    const page = await ctx.db.query<{ id: string }>(
      `SELECT ${cols} FROM "backup_jobs" ${where} ORDER BY "created_at" DESC, "id" DESC LIMIT $1`,
      params,
    );
    await ctx.db.query(`SELECT * FROM "backup_disks" WHERE "job_id" = ANY($1)`, [page.rows.map((r) => r.id)]);
    return page.rowCount ?? 0;
  };
  const apiPage = async (filtered: boolean) => {
    const r = await ctx.server.api<{ items: unknown[] }>(
      "GET",
      filtered ? `/backups?status=failed&vmName=${vmName}` : "/backups",
    );
    if (r.status !== 200) throw new Error(`GET /backups answered ${r.status}`);
    return r.body.items.length;
  };
  const times = {
    apiFirst: [] as number[],
    apiFiltered: [] as number[],
    sqlFirst: [] as number[],
    sqlFiltered: [] as number[],
  };
  const counts: Record<string, number> = {};
  const timed = async (key: keyof typeof times, fn: () => Promise<number>, keep: boolean) => {
    const t = performance.now();
    counts[key] = await fn();
    if (keep) times[key].push(performance.now() - t);
  };
  for (let i = -3; i < requests; i += 1) {
    await timed("apiFirst", () => apiPage(false), i >= 0);
    await timed("sqlFirst", () => sqlPage(false), i >= 0);
    await timed("apiFiltered", () => apiPage(true), i >= 0);
    await timed("sqlFiltered", () => sqlPage(true), i >= 0);
  }
  const s = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, summary(v)])) as Record<
    keyof typeof times,
    ReturnType<typeof summary>
  >;
  ctx.log(
    `figure 5: first page ${s.apiFirst.median.toFixed(1)} ms (SQL ${s.sqlFirst.median.toFixed(1)}), filtered ${s.apiFiltered.median.toFixed(1)} ms (SQL ${s.sqlFiltered.median.toFixed(1)})`,
  );
  const base = "same queries via pg";
  return {
    rows: [
      {
        figure: "5 history",
        metric: `${jobs} jobs: first page (50), median`,
        nbdhub: s.apiFirst.median,
        baseline: s.sqlFirst.median,
        baselineName: base,
        unit: "ms",
      },
      {
        figure: "5 history",
        metric: "  first page, p95",
        nbdhub: s.apiFirst.p95,
        baseline: s.sqlFirst.p95,
        baselineName: base,
        unit: "ms",
      },
      {
        figure: "5 history",
        metric: `  ?status=failed&vmName=${vmName} (${counts.apiFiltered} jobs), median`,
        nbdhub: s.apiFiltered.median,
        baseline: s.sqlFiltered.median,
        baselineName: base,
        unit: "ms",
      },
      {
        figure: "5 history",
        metric: "  filtered page, p95",
        nbdhub: s.apiFiltered.p95,
        baseline: s.sqlFiltered.p95,
        baselineName: base,
        unit: "ms",
      },
    ],
    data: { jobs, requests, counts, summaries: s },
  };
}
