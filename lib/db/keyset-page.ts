// Keyset pagination, newest first (created_at DESC, id DESC), shared by the job history and the
// restore list: the cursor names the last row of a page, so the 1000th page is as fast as the first.
import { invalidInput } from "@/lib/errors";

type Keyed = { createdAt: Date; id: string };

export type KeysetPage<T> = { items: T[]; nextCursor: string | null };

/** The order a keyset page reads rows in; the cursor relies on it. */
const NEWEST_FIRST = [{ createdAt: "desc" as const }, { id: "desc" as const }];

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString("base64url");
}

function decodeCursor(cursor: string): Keyed {
  const [at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const createdAt = new Date(at);
  if (!id || Number.isNaN(createdAt.getTime())) {
    throw invalidInput({ cursor: "a nextCursor from a previous page" }, "invalid query: cursor");
  }
  return { createdAt, id };
}

/** The rows after the cursor's row (a bad cursor is a 400 naming the field). */
function afterCursor(cursor: string) {
  const c = decodeCursor(cursor);
  return { OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }] };
}

/** One page from `limit + 1` rows read in NEWEST_FIRST order: the extra row says another page follows. */
export function keysetPage<R extends Keyed, T>(rows: R[], limit: number, view: (row: R) => T): KeysetPage<T> {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const more = rows.length > limit && last;
  return { items: page.map(view), nextCursor: more ? encodeCursor(last.createdAt, last.id) : null };
}

/** findMany arguments for one page of rows with their disks: the filters, after the cursor, NEWEST_FIRST. */
export function pageQuery<Where extends object>(and: Where[], page: { cursor?: string; limit: number }) {
  return {
    where: { AND: page.cursor ? [...and, afterCursor(page.cursor)] : and },
    orderBy: NEWEST_FIRST,
    take: page.limit + 1,
    include: { disks: true as const },
  };
}
