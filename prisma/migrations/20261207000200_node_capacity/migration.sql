-- Issue 18, placement (docs/decisions/032-placement.md): each node's heartbeat also writes the
-- free bytes of its repository (statfs, null when it could not be read), so that any node can
-- place a backup on a node with repository space without asking it.
ALTER TABLE "nodes" ADD COLUMN "repository_free_bytes" BIGINT;
