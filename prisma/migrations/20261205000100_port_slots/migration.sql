-- Issue 15 (allocation without a pool-wide lock): one row per port of the pool, the rows that
-- concurrent claims lock with FOR UPDATE SKIP LOCKED, so each claim is one statement and two
-- claims never pick the same port (hand-written to match prisma/schema.prisma; see
-- docs/decisions/002-hand-written-migrations.md and 023-port-claims.md).
--
-- port_allocations stays the truth of who holds a port (its primary key still makes a double
-- hold impossible, its trigger still keeps holds inside port_pool's range); a slot only says
-- "this port belongs to the pool" and is what a claim locks while it inserts the allocation.
-- The slots follow port_pool's range: a trigger rewrites them whenever the range is written
-- (configure() at every start, or anyone else), so a range changed at restart is picked up.

-- CreateTable
CREATE TABLE "port_slots" (
    "port" INTEGER NOT NULL,

    CONSTRAINT "port_slots_pkey" PRIMARY KEY ("port"),
    CONSTRAINT "port_slots_port_valid" CHECK ("port" BETWEEN 1 AND 65535)
);

-- The slots are exactly port_pool's range.
CREATE FUNCTION "port_slots_follow_range"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM "port_slots" WHERE "port" < NEW."min_port" OR "port" > NEW."max_port";
    INSERT INTO "port_slots" ("port")
        SELECT p FROM generate_series(NEW."min_port", NEW."max_port") AS p
        ON CONFLICT ("port") DO NOTHING;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "port_slots_follow_range" AFTER INSERT OR UPDATE OF "min_port", "max_port" ON "port_pool"
    FOR EACH ROW EXECUTE FUNCTION "port_slots_follow_range"();

-- A database that already has a range gets its slots now.
INSERT INTO "port_slots" ("port")
    SELECT p FROM "port_pool", generate_series("min_port", "max_port") AS p WHERE "id" = 1;
