// How much database work one backup costs the server: statements by table (pg_stat_user_tables:
// rows inserted, updated, deleted, scans) and transactions (pg_stat_database), before and after
// one job of 4 raw disks, idle time subtracted (the same counters over an idle stretch as long
// as the job). A number to shrink for figure 6 (many jobs at once): every statement is a round
// trip on the server's main thread. Run through Vitest on a built app:
//
//   DBW_DISKS=4 DBW_SIZE_MIB=64 npx vitest run --config bench/diagnostics/vitest.config.mts db-work
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { it } from "vitest";
import { makeImage } from "../../tests/helpers/images";
import { launchServer, type LaunchedServer } from "../../tests/helpers/launch-server";
import { freePort, freePortRange } from "../../tests/helpers/ports";
import { embeddedUrl } from "../common/postgres";

const TOKEN = "bench-bootstrap-token-0123456789abcdef0123456789";
const disks = Number(process.env.DBW_DISKS ?? 4);
const sizeMiB = Number(process.env.DBW_SIZE_MIB ?? 64);
const out = (line: string) => process.stdout.write(`${line}\n`);

type Counters = Map<string, number>;

async function counters(db: pg.Pool): Promise<Counters> {
  const c: Counters = new Map();
  const tables = await db.query(
    `SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, seq_scan, coalesce(idx_scan, 0) AS idx_scan
       FROM pg_stat_user_tables`,
  );
  for (const r of tables.rows)
    for (const k of ["n_tup_ins", "n_tup_upd", "n_tup_del", "seq_scan", "idx_scan"])
      c.set(`${r.relname} ${k.replace("n_tup_", "")}`, Number(r[k]));
  const xact = await db.query(`SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`);
  c.set("transactions", Number(xact.rows[0].xact_commit));
  return c;
}

function delta(a: Counters, b: Counters): Counters {
  const d: Counters = new Map();
  for (const [k, v] of b) if (v - (a.get(k) ?? 0) !== 0) d.set(k, v - (a.get(k) ?? 0));
  return d;
}

/** pg_stat counters reach the views once the backends report them (at most about a second). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));

it("database work of one backup", { timeout: 600_000 }, async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), "nbdhub-dbwork-"));
  const dataDir = path.join(root, "data");
  await chmod(root, 0o711); // the embedded PostgreSQL's user must be able to enter it
  await mkdir(dataDir, { recursive: true });
  let server: LaunchedServer | undefined;
  let db: pg.Pool | undefined;
  try {
    const range = await freePortRange(disks + 2);
    server = await launchServer({
      root: path.resolve(__dirname, "../.."),
      dataDir,
      port: await freePort(),
      token: TOKEN,
      env: { NBDHUB_PORT_RANGE: `${range.min}-${range.max}` },
      dropInherited: ["DATABASE_URL"],
      healthTimeoutMs: 180_000,
    });
    db = new pg.Pool({ connectionString: embeddedUrl(dataDir), max: 1 });
    const sources: string[] = [];
    for (let i = 0; i < disks; i += 1) {
      const name = `dbw-${i}.raw`;
      await mkdir(path.join(dataDir, "sources"), { recursive: true });
      await makeImage(path.join(dataDir, "sources", name), { sizeMiB, randomMiB: sizeMiB / 2, format: "raw" });
      sources.push(name);
    }
    await settle();
    const t0 = await counters(db);
    const started = Date.now();
    const r = await server.api<{ id: string }>("POST", "/backups", {
      vmName: "dbw",
      type: "full",
      disks: sources.map((source, d) => ({ diskId: `disk${d}`, source })),
    });
    if (r.status !== 202) throw new Error(`POST /backups answered ${r.status}: ${JSON.stringify(r.body)}`);
    await server.waitForJobEnd(r.body.id);
    const jobMs = Date.now() - started;
    await settle();
    const t1 = await counters(db);
    // The same stretch idle: what the sampler and the admission checks cost anyway.
    await new Promise((resolve) => setTimeout(resolve, jobMs));
    await settle();
    const t2 = await counters(db);
    const job = delta(t0, t1);
    const idle = delta(t1, t2);
    out(`one backup of ${disks} × ${sizeMiB} MiB took ${jobMs} ms; counters (job / same time idle):`);
    const keys = [...new Set([...job.keys(), ...idle.keys()])].sort();
    for (const k of keys)
      out(`  ${k.padEnd(40)} ${String(job.get(k) ?? 0).padStart(6)} ${String(idle.get(k) ?? 0).padStart(6)}`);
  } finally {
    await db?.end().catch(() => undefined);
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  }
});
