// Reads of restores for the API: one restore, and the list, newest first, keyset-paginated
// (created_at DESC, id DESC) like the job history.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { keysetPage, pageQuery } from "@/lib/db/keyset-page";
import { notFound } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { restoreView } from "./serialize";
import type { RestoreListFilter, RestorePage, RestoreView } from "./types";

export async function getRestore(db: Db, id: string): Promise<RestoreView> {
  const row = await db.restore.findUnique({ where: { id }, include: { disks: true } });
  if (!row) throw notFound(`restore ${id}`);
  return restoreView(row);
}

export async function listRestores(db: Db, filter: RestoreListFilter): Promise<RestorePage> {
  const and: Prisma.RestoreWhereInput[] = [];
  if (filter.status) and.push({ status: filter.status });
  if (filter.vmName) and.push({ vmName: filter.vmName });
  if (filter.node) and.push({ node: filter.node });
  const rows = await db.restore.findMany(pageQuery(and, filter));
  return keysetPage(rows, filter.limit, restoreView);
}
