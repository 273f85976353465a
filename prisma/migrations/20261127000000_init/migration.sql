-- nbdhub: initial schema (hand-written to match prisma/schema.prisma; see
-- docs/decisions/002-hand-written-migrations.md). Checks and the range trigger are the
-- database's own guarantees, beyond what Prisma's schema can express.

-- CreateTable
CREATE TABLE "port_pool" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "min_port" INTEGER NOT NULL,
    "max_port" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "port_pool_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "port_pool_single_row" CHECK ("id" = 1),
    CONSTRAINT "port_pool_range" CHECK ("min_port" BETWEEN 1 AND 65535 AND "max_port" BETWEEN 1 AND 65535 AND "min_port" <= "max_port")
);

-- CreateTable
CREATE TABLE "port_allocations" (
    "port" INTEGER NOT NULL,
    "job_id" TEXT NOT NULL,
    "vm_name" TEXT NOT NULL,
    "export_name" TEXT NOT NULL,
    "allocated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "port_allocations_pkey" PRIMARY KEY ("port"),
    CONSTRAINT "port_allocations_port_valid" CHECK ("port" BETWEEN 1 AND 65535)
);

-- CreateTable
CREATE TABLE "nbd_exports" (
    "id" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "export_name" TEXT NOT NULL,
    "file_path" TEXT NOT NULL,
    "read_only" BOOLEAN NOT NULL DEFAULT false,
    "job_id" TEXT NOT NULL,
    "vm_name" TEXT NOT NULL,
    "disk_id" TEXT NOT NULL,
    "pid" INTEGER,
    "pid_start_time" BIGINT,
    "pid_file" TEXT,
    "status" TEXT NOT NULL,
    "exit_code" INTEGER,
    "exit_signal" TEXT,
    "error" TEXT,
    "stderr_tail" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ready_at" TIMESTAMPTZ(3),
    "stopped_at" TIMESTAMPTZ(3),

    CONSTRAINT "nbd_exports_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "nbd_exports_status_valid" CHECK ("status" IN ('starting', 'ready', 'stopping', 'stopped', 'crashed'))
);

-- CreateTable
CREATE TABLE "backup_jobs" (
    "id" TEXT NOT NULL,
    "vm_name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "mover" TEXT NOT NULL DEFAULT 'builtin',
    "status" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "last_activity_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "requested_by" TEXT,
    "cancelled_by" TEXT,
    "error" TEXT,
    "total_bytes" BIGINT NOT NULL DEFAULT 0,
    "transferred_bytes" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "backup_jobs_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "backup_jobs_type_valid" CHECK ("type" IN ('full', 'incremental')),
    CONSTRAINT "backup_jobs_mover_valid" CHECK ("mover" IN ('builtin', 'external')),
    CONSTRAINT "backup_jobs_status_valid" CHECK ("status" IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    CONSTRAINT "backup_jobs_bytes_valid" CHECK ("total_bytes" >= 0 AND "transferred_bytes" >= 0)
);

-- CreateTable
CREATE TABLE "backup_disks" (
    "job_id" TEXT NOT NULL,
    "disk_id" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "source" TEXT NOT NULL,
    "source_format" TEXT,
    "target_path" TEXT,
    "backing_path" TEXT,
    "port" INTEGER,
    "export_name" TEXT,
    "nbd_uri" TEXT,
    "pid" INTEGER,
    "status" TEXT NOT NULL,
    "total_bytes" BIGINT NOT NULL DEFAULT 0,
    "transferred_bytes" BIGINT NOT NULL DEFAULT 0,
    "bytes_per_second" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "eta_seconds" INTEGER,
    "actual_size" BIGINT,
    "change_id" TEXT,
    "error" TEXT,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "backup_disks_pkey" PRIMARY KEY ("job_id","disk_id"),
    CONSTRAINT "backup_disks_status_valid" CHECK ("status" IN ('pending', 'exporting', 'transferring', 'verifying', 'completed', 'failed', 'cancelled')),
    CONSTRAINT "backup_disks_bytes_valid" CHECK ("total_bytes" >= 0 AND "transferred_bytes" >= 0)
);

-- CreateTable
CREATE TABLE "job_events" (
    "id" BIGSERIAL NOT NULL,
    "job_id" TEXT NOT NULL,
    "disk_id" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "level" TEXT NOT NULL DEFAULT 'info',
    "kind" TEXT NOT NULL,
    "message" TEXT NOT NULL,

    CONSTRAINT "job_events_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "job_events_level_valid" CHECK ("level" IN ('info', 'warn', 'error'))
);

-- CreateTable
CREATE TABLE "pool_samples" (
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "total" INTEGER NOT NULL,
    "allocated" INTEGER NOT NULL,
    "exports" INTEGER NOT NULL,
    "bytes_moved" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "pool_samples_pkey" PRIMARY KEY ("at")
);

-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "username" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_login_at" TIMESTAMPTZ(3),

    CONSTRAINT "users_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "users_role_valid" CHECK ("role" IN ('viewer', 'operator', 'admin'))
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "api_tokens_role_valid" CHECK ("role" IN ('viewer', 'operator', 'admin'))
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "result" TEXT NOT NULL,
    "client_ip" TEXT,
    "details" JSONB,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "port_allocations_job_id_idx" ON "port_allocations"("job_id");

-- CreateIndex
CREATE INDEX "nbd_exports_job_id_idx" ON "nbd_exports"("job_id");

-- CreateIndex
CREATE INDEX "nbd_exports_status_idx" ON "nbd_exports"("status");

-- At most one live export per port (beyond Prisma's schema language: a partial index).
CREATE UNIQUE INDEX "nbd_exports_live_port_key" ON "nbd_exports"("port") WHERE "status" IN ('starting', 'ready', 'stopping');

-- CreateIndex
CREATE INDEX "backup_jobs_created_at_id_idx" ON "backup_jobs"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "backup_jobs_status_created_at_idx" ON "backup_jobs"("status", "created_at" DESC);

-- CreateIndex
CREATE INDEX "backup_jobs_vm_name_created_at_idx" ON "backup_jobs"("vm_name", "created_at" DESC);

-- CreateIndex
CREATE INDEX "job_events_job_id_id_idx" ON "job_events"("job_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");

-- CreateIndex
CREATE INDEX "sessions_user_id_idx" ON "sessions"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "audit_events_at_idx" ON "audit_events"("at" DESC);

-- CreateIndex
CREATE INDEX "audit_events_actor_at_idx" ON "audit_events"("actor", "at" DESC);

-- CreateIndex
CREATE INDEX "audit_events_action_at_idx" ON "audit_events"("action", "at" DESC);

-- AddForeignKey
ALTER TABLE "backup_disks" ADD CONSTRAINT "backup_disks_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "backup_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_events" ADD CONSTRAINT "job_events_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "backup_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A port can only be allocated inside the configured range (port_pool holds it).
CREATE FUNCTION "port_allocations_in_range"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lo INTEGER;
    hi INTEGER;
BEGIN
    SELECT "min_port", "max_port" INTO lo, hi FROM "port_pool" WHERE "id" = 1;
    IF lo IS NULL THEN
        RAISE EXCEPTION 'port pool range is not configured' USING ERRCODE = '23514';
    END IF;
    IF NEW."port" < lo OR NEW."port" > hi THEN
        RAISE EXCEPTION 'port % is outside the pool range %-%', NEW."port", lo, hi USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER "port_allocations_in_range" BEFORE INSERT OR UPDATE OF "port" ON "port_allocations"
    FOR EACH ROW EXECUTE FUNCTION "port_allocations_in_range"();
