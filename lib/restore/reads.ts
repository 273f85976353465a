// Reads of restores for the API: one restore, and the list, newest first, keyset-paginated
// (created_at DESC, id DESC) like the job history.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { invalidInput, notFound } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { restoreView } from "./serialize";
import type { RestoreListFilter, RestorePage, RestoreView } from "./types";

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const createdAt = new Date(at);
  if (!id || Number.isNaN(createdAt.getTime())) {
    throw invalidInput({ cursor: "a nextCursor from a previous page" }, "invalid query: cursor");
  }
  return { createdAt, id };
}

export async function getRestore(db: Db, id: string): Promise<RestoreView> {
  const row = await db.restore.findUnique({ where: { id }, include: { disks: true } });
  if (!row) throw notFound(`restore ${id}`);
  return restoreView(row);
}

export async function listRestores(db: Db, filter: RestoreListFilter): Promise<RestorePage> {
  const and: Prisma.RestoreWhereInput[] = [];
  if (filter.status) and.push({ status: filter.status });
  if (filter.vmName) and.push({ vmName: filter.vmName });
  if (filter.cursor) {
    const c = decodeCursor(filter.cursor);
    and.push({ OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }] });
  }
  const rows = await db.restore.findMany({
    where: { AND: and },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: filter.limit + 1,
    include: { disks: true },
  });
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  const more = rows.length > filter.limit && last;
  return { items: page.map(restoreView), nextCursor: more ? encodeCursor(last.createdAt, last.id) : null };
}
