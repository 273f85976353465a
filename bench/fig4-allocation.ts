// Figure 4, allocation under contention: C clients allocate a port and release it, in a loop,
// for D seconds, through the API; beside the same statements in plain SQL (the pool's claim
// and release of lib/nbd/port-claims.ts, one statement each) from C direct Postgres connections.
// Each side checks that no port was ever held twice: a client marks a port held when the
// allocation is answered and unmarks it before it sends the release, so two marks at once
// can only mean two holders at once. A client holds each port about 1 ms.
import pg from "pg";
import { claimPorts, releaseIfIdle, type ClaimRow } from "../lib/nbd/port-claims";
import type { Ctx, FigureResult } from "./common/context";
import { percentile, sleep } from "./common/stats";

type Outcome = {
  ops: number;
  exhausted: number;
  errors: number;
  overlaps: number;
  latencies: number[];
  seconds: number;
};

async function contend(
  clients: number,
  seconds: number,
  cycle: (client: number, n: number) => Promise<{ port: number | null; exhausted?: boolean }>,
  release: (client: number, port: number) => Promise<void>,
): Promise<Outcome> {
  const holders = new Map<number, number>();
  const out: Outcome = { ops: 0, exhausted: 0, errors: 0, overlaps: 0, latencies: [], seconds };
  const end = performance.now() + seconds * 1000;
  let firstError: unknown;
  const client = async (c: number) => {
    for (let n = 0; performance.now() < end; n += 1) {
      try {
        const t0 = performance.now();
        const got = await cycle(c, n);
        out.latencies.push(performance.now() - t0);
        if (got.port === null) {
          if (got.exhausted) out.exhausted += 1;
          continue;
        }
        out.ops += 1;
        if (holders.has(got.port)) out.overlaps += 1;
        holders.set(got.port, c);
        // Hold it a moment (other answers are read meanwhile), then unmark and release.
        await sleep(1);
        if (holders.get(got.port) === c) holders.delete(got.port);
        const t1 = performance.now();
        await release(c, got.port);
        out.latencies.push(performance.now() - t1);
        out.ops += 1;
      } catch (error) {
        out.errors += 1;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  if (firstError) (out as Outcome & { firstError?: string }).firstError = String(firstError);
  return out;
}

export async function allocation(ctx: Ctx): Promise<FigureResult> {
  const clients = 50;
  const seconds = ctx.quick ? 3 : 10;
  const { min, max } = ctx.server.portRange;

  // Through the API.
  const api = await contend(
    clients,
    seconds,
    async (c, n) => {
      const r = await ctx.server.api<{ port: number; error?: { code: string } }>("POST", "/nbd/ports/allocate", {
        jobId: `bench-alloc-${c}-${n}`,
        vmName: "bench",
        exportName: `c${c}`,
      });
      if (r.status === 201) return { port: r.body.port };
      if (r.status === 409 && r.body.error?.code === "port_pool_exhausted") return { port: null, exhausted: true };
      throw new Error(`allocate answered ${r.status}: ${JSON.stringify(r.body)}`);
    },
    async (_c, port) => {
      const r = await ctx.server.api("POST", "/nbd/ports/release", { port });
      if (r.status !== 200) throw new Error(`release answered ${r.status}: ${JSON.stringify(r.body)}`);
    },
  );
  const leftApi = await ctx.db.query(
    "SELECT count(*)::int AS n FROM port_allocations WHERE job_id LIKE 'bench-alloc-%'",
  );

  // The same statements straight in SQL, one connection per client.
  const conns = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new pg.Client({ connectionString: (ctx.db.options as { connectionString: string }).connectionString });
      c.on("error", () => undefined);
      await c.connect();
      return c;
    }),
  );
  // The server's node (the only row of port_pool on the bench's database): its slots are claimed.
  const { rows: pools } = await ctx.db.query<{ node: string }>("SELECT node FROM port_pool LIMIT 1");
  const node = pools[0].node;
  let sql: Outcome;
  try {
    sql = await contend(
      clients,
      seconds,
      async (c, n) => {
        const claim = claimPorts({
          node,
          range: { min, max },
          count: 1,
          skip: [],
          jobId: `bench-sql-${c}-${n}`,
          vmName: "bench",
          exportNames: [`c${c}`],
          fallbackName: `c${c}`,
        });
        const { rows } = await conns[c].query<ClaimRow>(claim.text, claim.values);
        if (rows.length === 0) return { port: null, exhausted: true };
        // A port another claim committed after this one's snapshot: claim again (as the pool does).
        return { port: rows[0].jobId === null ? null : rows[0].port };
      },
      async (c, port) => {
        const release = releaseIfIdle(node, port);
        await conns[c].query(release.text, release.values);
      },
    );
  } finally {
    await Promise.all(conns.map((c) => c.end().catch(() => undefined)));
    await ctx.db.query("DELETE FROM port_allocations WHERE job_id LIKE 'bench-sql-%'");
  }
  const opsPerS = (o: Outcome) => o.ops / o.seconds;
  const overlapNote = (o: Outcome) =>
    o.overlaps === 0 && o.errors === 0 ? "no port held twice" : `${o.overlaps} DOUBLE HOLDS, ${o.errors} errors`;
  ctx.log(
    `figure 4: API ${opsPerS(api).toFixed(0)} ops/s p95 ${percentile(api.latencies, 95).toFixed(1)} ms (${api.exhausted} exhausted, ${api.overlaps} overlaps, ${api.errors} errors); ` +
      `SQL ${opsPerS(sql).toFixed(0)} ops/s p95 ${percentile(sql.latencies, 95).toFixed(1)} ms`,
  );
  const n = max - min + 1;
  return {
    rows: [
      {
        figure: "4 allocation",
        metric: `${clients} clients, ${n} ports, ${seconds} s: allocations+releases/s`,
        nbdhub: opsPerS(api),
        baseline: opsPerS(sql),
        baselineName: "same SQL statements via pg",
        unit: "ops/s",
        note: overlapNote(api),
      },
      {
        figure: "4 allocation",
        metric: "  p95 latency of a request",
        nbdhub: percentile(api.latencies, 95),
        baseline: percentile(sql.latencies, 95),
        baselineName: "same SQL statements via pg",
        unit: "ms",
        note: `${api.exhausted} × 409 exhausted`,
      },
      {
        figure: "4 allocation",
        metric: "  ports held twice (client-side check)",
        nbdhub: api.overlaps,
        baseline: sql.overlaps,
        baselineName: "",
        unit: "",
        ratio: null,
        note: leftApi.rows[0].n === 0 ? "pool empty afterwards" : `${leftApi.rows[0].n} LEFT ALLOCATED`,
      },
    ],
    data: {
      clients,
      seconds,
      ports: n,
      api: {
        ...api,
        latencies: undefined,
        p50: percentile(api.latencies, 50),
        p95: percentile(api.latencies, 95),
        requests: api.latencies.length,
        leftAllocated: leftApi.rows[0].n,
      },
      sql: {
        ...sql,
        latencies: undefined,
        p50: percentile(sql.latencies, 50),
        p95: percentile(sql.latencies, 95),
        requests: sql.latencies.length,
      },
    },
  };
}
