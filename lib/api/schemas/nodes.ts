// Schemas of GET /nodes (docs/api.md "Nodes"): every server process on the database. Shared with
// the console (no server imports).
import { z } from "zod";
import { answerTime as isoTime } from "./times";

export const nodeSchema = z.object({
  name: z.string(),
  /** Where the node's HTTP API answers. */
  apiUrl: z.string(),
  /** The host its NBD clients are told. */
  nbdHost: z.string(),
  /** Its port pool's range (as GET /nbd/ports's `range`). */
  portRange: z.object({ min: z.number().int(), max: z.number().int() }),
  /** Its repository folder. */
  repository: z.string(),
  /** The repository's free bytes at its last heartbeat (statfs); null when unknown. */
  repositoryFreeBytes: z.number().int().nullable(),
  /** "lost" once its last heartbeat is older than NBDHUB_NODE_LEASE_SECONDS. */
  status: z.enum(["up", "lost"]),
  lastSeenAt: isoTime,
  ports: z.object({ total: z.number().int(), allocated: z.number().int() }),
  jobsRunning: z.number().int(),
});
export type NodeEntry = z.infer<typeof nodeSchema>;

export const nodeListSchema = z.object({ items: z.array(nodeSchema) });
export type NodeList = z.infer<typeof nodeListSchema>;
