// What placement needs to know of every node, read in one statement: status (on the database's
// clock), free ports (the range less allocations and the disks of queued jobs, which take ports
// once admitted), the repository's free bytes from its last heartbeat, and its load.
import "server-only";
import type { Db } from "@/lib/db/prisma";
import type { Candidate } from "./placement";
import { nodeStatus } from "./status";

type Row = {
  name: string;
  lastSeenAt: Date;
  now: Date;
  total: number;
  allocated: number;
  queuedDisks: number;
  freeBytes: bigint | null;
  load: number;
};

export async function readCandidates(db: Db, leaseSeconds: number): Promise<Candidate[]> {
  const rows = await db.$queryRaw<Row[]>`
    SELECT n.name, n.last_seen_at AS "lastSeenAt", now() AS now, (n.max_port - n.min_port + 1)::int AS total,
           (SELECT count(*) FROM port_allocations a
             WHERE a.node = n.name AND a.port BETWEEN n.min_port AND n.max_port)::int AS allocated,
           (SELECT count(*) FROM backup_disks d JOIN backup_jobs j ON j.id = d.job_id
             WHERE j.node = n.name AND j.status = 'queued')::int AS "queuedDisks",
           n.repository_free_bytes AS "freeBytes",
           (SELECT count(*) FROM backup_jobs j WHERE j.node = n.name AND j.status IN ('queued', 'running'))::int AS load
      FROM nodes n
     ORDER BY n.name`;
  return rows.map((r) => ({
    name: r.name,
    status: nodeStatus(r.lastSeenAt, r.now, leaseSeconds),
    freePorts: Math.max(0, r.total - r.allocated - r.queuedDisks),
    freeBytes: r.freeBytes === null ? null : Number(r.freeBytes),
    load: r.load,
  }));
}
