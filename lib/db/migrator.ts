// Applies prisma/migrations/*/migration.sql at start, the way `prisma migrate deploy` would,
// because Prisma's migration engine cannot be downloaded on this project's machines
// (docs/decisions/002-hand-written-migrations.md):
// - one transaction under Prisma's own advisory lock key, so two servers starting at once (or a
//   concurrent `prisma migrate deploy`) never both migrate;
// - rows in `_prisma_migrations` exactly as Prisma writes them (sha256 checksum of the file);
// - an applied migration whose file changed, vanished or failed stops the start.
import "server-only";
import { createHash, randomUUID } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import pg from "pg";

/** The key Prisma's migrate engine locks with (schema-engine, postgres connector). */
const PRISMA_ADVISORY_LOCK_KEY = 72707369;

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrationError";
  }
}

export type MigrationFile = { name: string; sql: string; checksum: string };

export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await fs.readFile(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

type Applied = { migration_name: string; checksum: string; finished_at: Date | null };

/** Apply pending migrations; returns the names applied (empty when up to date). */
export async function migrate(
  databaseUrl: string,
  migrationsDir: string,
  log: (m: string) => void = () => undefined,
): Promise<string[]> {
  const files = await readMigrations(migrationsDir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [PRISMA_ADVISORY_LOCK_KEY]);
    await client.query(CREATE_TABLE);
    const { rows } = await client.query<Applied>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at`,
    );
    const byName = new Map(files.map((f) => [f.name, f]));
    for (const row of rows) {
      const file = byName.get(row.migration_name);
      if (!row.finished_at) {
        throw new MigrationError(
          `migration ${row.migration_name} started but never finished; repair the database before starting nbdhub`,
        );
      }
      if (!file) {
        throw new MigrationError(
          `migration ${row.migration_name} is applied to the database but missing from ${migrationsDir}`,
        );
      }
      if (file.checksum !== row.checksum) {
        throw new MigrationError(
          `migration ${row.migration_name} was changed after it was applied (checksum ${file.checksum.slice(0, 12)}… ≠ ${row.checksum.slice(0, 12)}…); ` +
            `restore the file and put the change in a new migration`,
        );
      }
    }
    const applied = new Set(rows.map((r) => r.migration_name));
    const pending = files.filter((f) => !applied.has(f.name));
    for (const file of pending) {
      log(`applying migration ${file.name}`);
      await client.query(file.sql);
      await client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, started_at, applied_steps_count)
         VALUES ($1, $2, now(), $3, NULL, now(), 1)`,
        [randomUUID(), file.checksum, file.name],
      );
    }
    await client.query("COMMIT");
    return pending.map((f) => f.name);
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}
