// The Prisma client, created once per runtime with the pg driver adapter.
import "server-only";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@/lib/generated/prisma/client";

export type Db = PrismaClient;

/**
 * Five connections by default: the 2 × cores + 1 formula (the one formbricks restored) worked
 * out once for the 2-core machine nbdhub is sized for, not computed from this machine's cores.
 * Enough for route handlers, the exit watchers and the progress writers of parallel disks.
 */
export function createDb(databaseUrl: string, poolSize = 2 * 2 + 1): Db {
  // A burst (100 exports started at once, bench figure 3) queues for the pool's few
  // connections, some held while waiting on the allocation lock: waiting is not a failure, so
  // allow 30 s for a connection before a request errs (5 s gave 7 of 100 starts a 500).
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: 30_000 });
  return new PrismaClient({ adapter });
}
