// schema.prisma and the database that the hand-written migrations produce agree, model by
// model and field by field: tables, columns, types, nullability, primary keys, unique
// indexes and foreign keys.
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "@/lib/db/migrator";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { readPrismaSchema, type PrismaModel } from "../helpers/prisma-schema";

const root = path.resolve(__dirname, "../..");
const models = readPrismaSchema(path.join(root, "prisma/schema.prisma"));

const PG_TYPE: Record<string, string> = {
  Int: "integer",
  BigInt: "bigint",
  String: "text",
  Boolean: "boolean",
  DateTime: "timestamp(3) without time zone",
  Float: "double precision",
  Json: "jsonb",
};

function expectedType(field: PrismaModel["fields"][number]): string {
  if (field.type === "DateTime" && field.dbType?.startsWith("Timestamptz")) {
    const precision = /\((\d+)\)/.exec(field.dbType)?.[1] ?? "6";
    return `timestamp(${precision}) with time zone`;
  }
  return PG_TYPE[field.type];
}

let url: string;
let client: pg.Client;

beforeAll(async () => {
  url = await createTestDatabase("drift");
  await migrate(url, path.join(root, "prisma/migrations"));
  client = new pg.Client({ connectionString: url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await dropTestDatabase(url);
});

async function columns(table: string) {
  const { rows } = await client.query<{ column_name: string; type: string; is_nullable: string }>(
    `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,
            CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END AS is_nullable
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped`,
    [table],
  );
  return new Map(rows.map((r) => [r.column_name, r]));
}

describe("schema.prisma against the migrated database", () => {
  it("has exactly the schema's tables", async () => {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    expect(rows.map((r) => r.table_name).sort()).toEqual(models.map((m) => m.table).sort());
  });

  for (const model of models) {
    it(`model ${model.name} matches table ${model.table} field by field`, async () => {
      const cols = await columns(model.table);
      const scalars = model.fields.filter((f) => !f.relation);
      expect([...cols.keys()].sort()).toEqual(scalars.map((f) => f.column).sort());
      for (const field of scalars) {
        const col = cols.get(field.column)!;
        expect({ field: field.name, type: col.type, nullable: col.is_nullable === "YES" }).toEqual({
          field: field.name,
          type: expectedType(field),
          nullable: field.optional,
        });
      }

      const pk = await client.query<{ column: string }>(
        `SELECT a.attname AS column FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
          WHERE c.relname = $1 AND i.indisprimary`,
        [model.table],
      );
      const wantPk = model.compoundId
        ? model.compoundId.map((n) => model.fields.find((f) => f.name === n)!.column)
        : model.fields.filter((f) => f.id).map((f) => f.column);
      expect(pk.rows.map((r) => r.column).sort()).toEqual(wantPk.sort());

      for (const field of scalars.filter((f) => f.unique)) {
        const unique = await client.query(
          `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
            WHERE c.relname = $1 AND i.indisunique AND i.indnatts = 1 AND i.indpred IS NULL AND a.attname = $2`,
          [model.table, field.column],
        );
        expect(unique.rowCount, `${model.name}.${field.name} is unique`).toBeGreaterThan(0);
      }

      for (const rel of model.relations) {
        const target = models.find((m) => m.name === rel.model)!;
        const fk = await client.query<{ column: string; ref_table: string; ref_column: string }>(
          `SELECT kcu.column_name AS column, ccu.table_name AS ref_table, ccu.column_name AS ref_column
             FROM information_schema.table_constraints tc
             JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name
             JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name
            WHERE tc.table_name = $1 AND tc.constraint_type = 'FOREIGN KEY'`,
          [model.table],
        );
        const columnsOf = (m: PrismaModel, names: string[]) =>
          names.map((n) => m.fields.find((f) => f.name === n)!.column);
        expect(fk.rows).toContainEqual({
          column: columnsOf(model, rel.fields)[0],
          ref_table: target.table,
          ref_column: columnsOf(target, rel.references)[0],
        });
      }
    });
  }
});
