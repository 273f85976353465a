-- Issue 18 (several hubs on one Postgres), first slice: nodes and ownership (hand-written to
-- match prisma/schema.prisma; see docs/decisions/002-hand-written-migrations.md and
-- 026-nodes.md).
--
-- Every server process is a node: a row of "nodes" it refreshes every few seconds (its
-- heartbeat). Ports are keyed by (node, port): each node has its own row of port_pool, its
-- own slots and its own allocations, so two nodes may hold the same port number and one node
-- never holds a port twice. Exports, backup jobs and restores name the node that owns them
-- (their processes run there, and only that node starts, adopts or stops them).
--
-- Rows written before this migration (a single hub, upgraded) get the empty node '': no node
-- owns them until the first node to start claims them all in one statement, before it
-- reconciles (lib/node/claim.ts). The column has no default afterwards: every writer names
-- its node.

-- CreateTable
CREATE TABLE "nodes" (
    "name" TEXT NOT NULL,
    "api_url" TEXT NOT NULL,
    "nbd_host" TEXT NOT NULL,
    "min_port" INTEGER NOT NULL,
    "max_port" INTEGER NOT NULL,
    "repository" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "nodes_pkey" PRIMARY KEY ("name"),
    CONSTRAINT "nodes_name_valid" CHECK ("name" <> '')
);

-- port_pool: one row per node (was one row, id 1).
ALTER TABLE "port_pool" DROP CONSTRAINT "port_pool_single_row";
ALTER TABLE "port_pool" DROP CONSTRAINT "port_pool_pkey";
ALTER TABLE "port_pool" DROP COLUMN "id";
ALTER TABLE "port_pool" ADD COLUMN "node" TEXT NOT NULL DEFAULT '';
ALTER TABLE "port_pool" ALTER COLUMN "node" DROP DEFAULT;
ALTER TABLE "port_pool" ADD CONSTRAINT "port_pool_pkey" PRIMARY KEY ("node");

-- port_slots: (node, port).
ALTER TABLE "port_slots" ADD COLUMN "node" TEXT NOT NULL DEFAULT '';
ALTER TABLE "port_slots" ALTER COLUMN "node" DROP DEFAULT;
ALTER TABLE "port_slots" DROP CONSTRAINT "port_slots_pkey";
ALTER TABLE "port_slots" ADD CONSTRAINT "port_slots_pkey" PRIMARY KEY ("node", "port");

-- port_allocations: (node, port).
ALTER TABLE "port_allocations" ADD COLUMN "node" TEXT NOT NULL DEFAULT '';
ALTER TABLE "port_allocations" ALTER COLUMN "node" DROP DEFAULT;
ALTER TABLE "port_allocations" DROP CONSTRAINT "port_allocations_pkey";
ALTER TABLE "port_allocations" ADD CONSTRAINT "port_allocations_pkey" PRIMARY KEY ("node", "port");

-- nbd_exports: one live export per (node, port).
ALTER TABLE "nbd_exports" ADD COLUMN "node" TEXT NOT NULL DEFAULT '';
ALTER TABLE "nbd_exports" ALTER COLUMN "node" DROP DEFAULT;
DROP INDEX "nbd_exports_live_port_key";
CREATE UNIQUE INDEX "nbd_exports_live_port_key" ON "nbd_exports"("node", "port") WHERE "status" IN ('starting', 'ready', 'stopping');
CREATE INDEX "nbd_exports_node_status_idx" ON "nbd_exports"("node", "status");

-- backup_jobs and restores: the node that runs them.
ALTER TABLE "backup_jobs" ADD COLUMN "node" TEXT NOT NULL DEFAULT '';
ALTER TABLE "backup_jobs" ALTER COLUMN "node" DROP DEFAULT;
CREATE INDEX "backup_jobs_node_status_idx" ON "backup_jobs"("node", "status");

ALTER TABLE "restores" ADD COLUMN "node" TEXT NOT NULL DEFAULT '';
ALTER TABLE "restores" ALTER COLUMN "node" DROP DEFAULT;
CREATE INDEX "restores_node_status_idx" ON "restores"("node", "status");

-- The slots are exactly each node's range (its own port_pool row).
CREATE OR REPLACE FUNCTION "port_slots_follow_range"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM "port_slots"
     WHERE "node" = NEW."node" AND ("port" < NEW."min_port" OR "port" > NEW."max_port");
    INSERT INTO "port_slots" ("node", "port")
        SELECT NEW."node", p FROM generate_series(NEW."min_port", NEW."max_port") AS p
        ON CONFLICT ("node", "port") DO NOTHING;
    RETURN NULL;
END;
$$;

DROP TRIGGER "port_slots_follow_range" ON "port_pool";
CREATE TRIGGER "port_slots_follow_range" AFTER INSERT OR UPDATE OF "node", "min_port", "max_port" ON "port_pool"
    FOR EACH ROW EXECUTE FUNCTION "port_slots_follow_range"();

-- A port can only be allocated inside its node's range.
CREATE OR REPLACE FUNCTION "port_allocations_in_range"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lo INTEGER;
    hi INTEGER;
BEGIN
    SELECT "min_port", "max_port" INTO lo, hi FROM "port_pool" WHERE "node" = NEW."node";
    IF lo IS NULL THEN
        RAISE EXCEPTION 'port pool range of node "%" is not configured', NEW."node" USING ERRCODE = '23514';
    END IF;
    IF NEW."port" < lo OR NEW."port" > hi THEN
        RAISE EXCEPTION 'port % is outside the pool range %-% of node "%"', NEW."port", lo, hi, NEW."node" USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END;
$$;
