// The node's heartbeat: an upsert of its row in `nodes` when the runtime starts, then every
// NBDHUB_NODE_HEARTBEAT_SECONDS; last_seen_at is the database's now(). Other nodes read it as
// "up" until it is older than the lease (status.ts). A beat that fails (the database is away)
// is logged once per outage and tried again at the next interval; stop() waits for a beat in
// flight and writes no more.
import "server-only";
import { promises as fs } from "node:fs";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { firstLineOf } from "@/lib/messages";
import { repeatEvery } from "@/lib/repeat";
import type { NodeIdentity } from "./identity";

export type Heartbeat = { stop(): Promise<void> };

/** One beat; `starting` also records when this run of the node started. */
export async function beat(db: Db, node: NodeIdentity, starting = false): Promise<void> {
  const { name, apiUrl, nbdHost, portRange, repository } = node;
  // The repository's free space, for placement on other nodes (null when statfs fails).
  const free = await freeBytes(repository);
  await db.$executeRaw`
    INSERT INTO nodes (name, api_url, nbd_host, min_port, max_port, repository, repository_free_bytes, started_at, last_seen_at)
    VALUES (${name}, ${apiUrl}, ${nbdHost}, ${portRange.min}::int, ${portRange.max}::int, ${repository}, ${free}::bigint, now(), now())
    ON CONFLICT (name) DO UPDATE SET api_url = EXCLUDED.api_url, nbd_host = EXCLUDED.nbd_host,
      min_port = EXCLUDED.min_port, max_port = EXCLUDED.max_port, repository = EXCLUDED.repository,
      repository_free_bytes = EXCLUDED.repository_free_bytes,
      last_seen_at = now(), started_at = CASE WHEN ${starting}::boolean THEN now() ELSE nodes.started_at END`;
}

async function freeBytes(dir: string): Promise<bigint | null> {
  try {
    const s = await fs.statfs(dir, { bigint: true });
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** Beat now (at start: a failure stops the start), then every `seconds`. */
export async function startHeartbeat(deps: {
  db: Db;
  node: NodeIdentity;
  seconds: number;
  log: Logger;
}): Promise<Heartbeat> {
  const { db, node, log } = deps;
  await beat(db, node, true);
  log.info(`node ${node.name} is up`, { node: node.name, apiUrl: node.apiUrl });
  let failing = false;
  return repeatEvery(deps.seconds * 1000, () =>
    beat(db, node)
      .then(() => {
        if (failing) log.info("the node's heartbeat works again");
        failing = false;
      })
      .catch((error: unknown) => {
        if (!failing) log.warn("could not write the node's heartbeat", { error: firstLineOf(error) });
        failing = true;
      }),
  );
}
