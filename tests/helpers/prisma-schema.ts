// A small reader of prisma/schema.prisma for the drift test: models, their table and column
// names (@@map/@map), scalar types, optionality, ids, uniques and relations. Our schema uses
// only these constructs; anything it cannot read fails the test loudly.
import { readFileSync } from "node:fs";

export type PrismaField = {
  name: string;
  column: string;
  type: string;
  optional: boolean;
  list: boolean;
  relation: boolean;
  id: boolean;
  unique: boolean;
  dbType?: string;
};
export type PrismaModel = {
  name: string;
  table: string;
  fields: PrismaField[];
  compoundId?: string[];
  relations: { fields: string[]; references: string[]; model: string }[];
};

const SCALARS = new Set(["Int", "BigInt", "String", "Boolean", "DateTime", "Float", "Json", "Decimal", "Bytes"]);

export function readPrismaSchema(file: string): PrismaModel[] {
  const text = readFileSync(file, "utf8");
  const models: PrismaModel[] = [];
  const blocks = text.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm);
  for (const [, name, body] of blocks) {
    const model: PrismaModel = { name, table: name, fields: [], relations: [] };
    for (const raw of body.split("\n")) {
      const line = raw.replace(/\/\/.*$/, "").trim();
      if (!line) continue;
      if (line.startsWith("@@map")) {
        model.table = /@@map\("([^"]+)"\)/.exec(line)![1];
        continue;
      }
      if (line.startsWith("@@id")) {
        model.compoundId = /@@id\(\[([^\]]+)\]/
          .exec(line)![1]
          .split(",")
          .map((s) => s.trim());
        continue;
      }
      if (line.startsWith("@@")) continue;
      const m = /^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/.exec(line);
      if (!m) throw new Error(`cannot read schema line in ${name}: ${line}`);
      const [, fname, type, list, optional, attrs] = m;
      const relation = !SCALARS.has(type);
      if (relation) {
        const rel = /@relation\([^)]*fields:\s*\[([^\]]+)\][^)]*references:\s*\[([^\]]+)\]/.exec(attrs);
        if (rel)
          model.relations.push({
            fields: rel[1].split(",").map((s) => s.trim()),
            references: rel[2].split(",").map((s) => s.trim()),
            model: type,
          });
      }
      model.fields.push({
        name: fname,
        column: /@map\("([^"]+)"\)/.exec(attrs)?.[1] ?? fname,
        type,
        optional: Boolean(optional),
        list: Boolean(list),
        relation,
        id: /@id\b/.test(attrs),
        unique: /@unique\b/.test(attrs),
        dbType: /@db\.(\w+(?:\(\d+\))?)/.exec(attrs)?.[1],
      });
    }
    models.push(model);
  }
  return models;
}
