// GET /nodes: every node on the database, with its status computed from its last heartbeat
// against the database's clock, its port pool's use and its running jobs.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import { nodeStatus } from "./status";
import type { NodeView } from "./types";

type Row = {
  name: string;
  apiUrl: string;
  nbdHost: string;
  minPort: number;
  maxPort: number;
  repository: string;
  repositoryFreeBytes: bigint | null;
  lastSeenAt: Date;
  now: Date;
  allocated: number;
  jobsRunning: number;
};

export async function listNodes(db: Db, leaseSeconds: number): Promise<NodeView[]> {
  const rows = await db.$queryRaw<Row[]>`
    SELECT n.name, n.api_url AS "apiUrl", n.nbd_host AS "nbdHost", n.min_port AS "minPort", n.max_port AS "maxPort",
           n.repository, n.repository_free_bytes AS "repositoryFreeBytes", n.last_seen_at AS "lastSeenAt", now() AS now,
           (SELECT count(*) FROM port_allocations a
             WHERE a.node = n.name AND a.port BETWEEN n.min_port AND n.max_port)::int AS allocated,
           (SELECT count(*) FROM backup_jobs j WHERE j.node = n.name AND j.status = 'running')::int AS "jobsRunning"
      FROM nodes n
     ORDER BY n.name`;
  return rows.map((r) => ({
    name: r.name,
    apiUrl: r.apiUrl,
    nbdHost: r.nbdHost,
    portRange: { min: r.minPort, max: r.maxPort },
    repository: r.repository,
    repositoryFreeBytes: r.repositoryFreeBytes === null ? null : Number(r.repositoryFreeBytes),
    status: nodeStatus(r.lastSeenAt, r.now, leaseSeconds),
    lastSeenAt: r.lastSeenAt.toISOString(),
    ports: { total: r.maxPort - r.minPort + 1, allocated: r.allocated },
    jobsRunning: r.jobsRunning,
  }));
}
