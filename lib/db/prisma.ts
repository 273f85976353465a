// The Prisma client, created once per runtime with the pg driver adapter.
import "server-only";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@/lib/generated/prisma/client";

export type Db = PrismaClient;

/**
 * Pool size chosen on purpose: 2 × cores + 1 (the formula formbricks restored), enough for
 * route handlers, the exit watchers and the progress writers of parallel disks.
 */
export function createDb(databaseUrl: string, poolSize = 2 * 2 + 1): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: 5000 });
  return new PrismaClient({ adapter });
}
