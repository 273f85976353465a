// The migrator against a real PostgreSQL: a fresh database, a re-run, a changed file, and
// four servers migrating the same database at once.
import { cp, mkdtemp, appendFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { migrate, MigrationError, readMigrations } from "@/lib/db/migrator";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";

const migrationsDir = path.resolve(__dirname, "../../prisma/migrations");
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function freshDb() {
  const url = await createTestDatabase("mig");
  cleanup.push(() => dropTestDatabase(url));
  return url;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("migrations", () => {
  it("applies every migration to a fresh database and records it as Prisma does", async () => {
    const url = await freshDb();
    const files = await readMigrations(migrationsDir);
    expect(await migrate(url, migrationsDir)).toEqual(files.map((f) => f.name));
    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      applied_steps_count: number;
    }>(
      url,
      `SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name`,
    );
    expect(rows.map((r) => [r.migration_name, r.checksum, r.applied_steps_count])).toEqual(
      files.map((f) => [f.name, f.checksum, 1]),
    );
    expect(rows.every((r) => r.finished_at instanceof Date)).toBe(true);
  });

  it("is a no-op when run again", async () => {
    const url = await freshDb();
    await migrate(url, migrationsDir);
    expect(await migrate(url, migrationsDir)).toEqual([]);
    const rows = await query<{ n: string }>(url, `SELECT count(*) AS n FROM _prisma_migrations`);
    expect(Number(rows[0].n)).toBe((await readMigrations(migrationsDir)).length);
  });

  it("refuses to start when an applied migration's file has changed", async () => {
    const url = await freshDb();
    await migrate(url, migrationsDir);
    const copy = await mkdtemp(path.join(os.tmpdir(), "nbdhub-mig-"));
    cleanup.push(() => rm(copy, { recursive: true, force: true }));
    await cp(migrationsDir, copy, { recursive: true });
    const [first] = await readMigrations(copy);
    await appendFile(path.join(copy, first.name, "migration.sql"), "\n-- edited after the fact\n");
    await expect(migrate(url, copy)).rejects.toThrow(MigrationError);
    await expect(migrate(url, copy)).rejects.toThrow(/was changed after it was applied/);
  });

  it("rolls back a failing migration entirely, leaving nothing half-applied", async () => {
    const url = await freshDb();
    const copy = await mkdtemp(path.join(os.tmpdir(), "nbdhub-mig-"));
    cleanup.push(() => rm(copy, { recursive: true, force: true }));
    await cp(migrationsDir, copy, { recursive: true });
    const { mkdir, writeFile } = await import("node:fs/promises");
    await mkdir(path.join(copy, "99990101000000_broken"));
    await writeFile(
      path.join(copy, "99990101000000_broken", "migration.sql"),
      "CREATE TABLE ok_then (id int);\nSELECT * FROM no_such_table;\n",
    );
    await expect(migrate(url, copy)).rejects.toThrow(/no_such_table/);
    const tables = await query<{ n: string }>(
      url,
      `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    expect(Number(tables[0].n)).toBe(0);
  });

  it("lets exactly one of four concurrent migrators apply, and all of them succeed", async () => {
    const url = await freshDb();
    const results = await Promise.all([1, 2, 3, 4].map(() => migrate(url, migrationsDir)));
    const files = await readMigrations(migrationsDir);
    expect(results.filter((r) => r.length > 0)).toEqual([files.map((f) => f.name)]);
    const rows = await query<{ n: string }>(url, `SELECT count(*) AS n FROM _prisma_migrations`);
    expect(Number(rows[0].n)).toBe(files.length);
  });
});
