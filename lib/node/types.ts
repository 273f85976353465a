// A node as the API shows it (docs/api.md "Nodes"): one server process on the database.

export type NodeStatus = "up" | "lost";

export type NodeView = {
  name: string;
  /** Where its HTTP API answers (NBDHUB_PUBLIC_URL, else its listen address and port, + /api/v1). */
  apiUrl: string;
  /** The host its NBD clients are told (NBDHUB_NBD_HOST). */
  nbdHost: string;
  /** Its port pool's range (NBDHUB_PORT_RANGE), shaped like GET /nbd/ports's `range`. */
  portRange: { min: number; max: number };
  /** Its repository folder. */
  repository: string;
  /** The repository's free bytes at its last heartbeat (statfs); null when unknown. */
  repositoryFreeBytes: number | null;
  /** "lost" once its heartbeat is older than NBDHUB_NODE_LEASE_SECONDS (read from the database's clock). */
  status: NodeStatus;
  lastSeenAt: string;
  ports: { total: number; allocated: number };
  jobsRunning: number;
};
