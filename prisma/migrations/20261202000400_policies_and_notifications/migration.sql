-- Issue 16: unattended operation (hand-written to match prisma/schema.prisma; see
-- docs/decisions/002-hand-written-migrations.md and 017-unattended.md).
--
-- policies: what to back up, when (cron + time zone), how often a full, what to keep.
--   since_at is the last slot handled (run or skipped), or the time the policy was created or
--   enabled: dueSlot() counts missed slots from it, so a new policy does not catch up its past.
-- policy_runs: one row per slot, inserted BEFORE its job is created; the UNIQUE (policy_id, slot)
--   key makes the slot run once whatever restarts or server processes there are (the INSERT
--   that wins runs it). Manual runs ("Run now") have no slot (NULLs never collide).
-- backup_jobs.policy_id links a job to the policy that made it; pruned_at marks a point that a
--   prune removed (the row stays, for history; it is no longer a restore point).
-- prune_leases: one prune per VM at a time, across server processes.
-- notifications / notification_deliveries: webhooks and their delivery log. A delivery's
--   UNIQUE (notification_id, event_key) makes each event queued once, by whichever process
--   saw it first.
-- repository_samples: the repository's use over time, for the dashboard's chart.

-- CreateTable
CREATE TABLE "policies" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "vm_name" TEXT NOT NULL,
    "disks" JSONB NOT NULL,
    "schedule" TEXT NOT NULL,
    "timezone" TEXT NOT NULL,
    "full_every" INTEGER NOT NULL DEFAULT 1,
    "keep_last" INTEGER NOT NULL DEFAULT 0,
    "keep_daily" INTEGER NOT NULL DEFAULT 0,
    "keep_weekly" INTEGER NOT NULL DEFAULT 0,
    "keep_monthly" INTEGER NOT NULL DEFAULT 0,
    "max_run_seconds" INTEGER,
    "retries" INTEGER,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "since_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "next_run_at" TIMESTAMPTZ(3),
    "last_run_at" TIMESTAMPTZ(3),
    "last_job_id" TEXT,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "policies_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "policies_full_every_valid" CHECK ("full_every" >= 1)
);

-- CreateIndex
CREATE UNIQUE INDEX "policies_name_key" ON "policies"("name");

-- CreateIndex: the scheduler's tick (enabled policies whose next run is due).
CREATE INDEX "policies_enabled_next_run_at_idx" ON "policies"("enabled", "next_run_at");

-- CreateTable
CREATE TABLE "policy_runs" (
    "id" BIGSERIAL NOT NULL,
    "policy_id" TEXT NOT NULL,
    "slot" TIMESTAMPTZ(3),
    "trigger" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "job_id" TEXT,
    "job_type" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "after_run_at" TIMESTAMPTZ(3),

    CONSTRAINT "policy_runs_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "policy_runs_status_valid" CHECK ("status" IN ('starting', 'started', 'skipped', 'failed_to_start')),
    CONSTRAINT "policy_runs_trigger_valid" CHECK ("trigger" IN ('schedule', 'manual'))
);

-- CreateIndex: the key that makes each slot run once.
CREATE UNIQUE INDEX "policy_runs_policy_id_slot_key" ON "policy_runs"("policy_id", "slot");

-- CreateIndex
CREATE INDEX "policy_runs_policy_id_created_at_idx" ON "policy_runs"("policy_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "policy_runs_job_id_idx" ON "policy_runs"("job_id");

-- AddForeignKey
ALTER TABLE "policy_runs" ADD CONSTRAINT "policy_runs_policy_id_fkey" FOREIGN KEY ("policy_id") REFERENCES "policies"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable
ALTER TABLE "backup_jobs"
    ADD COLUMN "policy_id" TEXT,
    ADD COLUMN "pruned_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "backup_jobs_policy_id_idx" ON "backup_jobs"("policy_id");

-- CreateTable
CREATE TABLE "prune_leases" (
    "vm_name" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "prune_leases_pkey" PRIMARY KEY ("vm_name")
);

-- CreateTable
CREATE TABLE "notifications" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "events" JSONB NOT NULL,
    "stale_after_hours" DOUBLE PRECISION,
    "created_by" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notifications_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "notifications_kind_valid" CHECK ("kind" IN ('webhook', 'slack'))
);

-- CreateTable
CREATE TABLE "notification_deliveries" (
    "id" BIGSERIAL NOT NULL,
    "notification_id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "event_key" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "status_code" INTEGER,
    "error" TEXT,
    "next_attempt_at" TIMESTAMPTZ(3) DEFAULT CURRENT_TIMESTAMP,
    "locked_until" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),

    CONSTRAINT "notification_deliveries_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "notification_deliveries_status_valid" CHECK ("status" IN ('pending', 'delivered', 'failed'))
);

-- CreateIndex: each event is queued once per notification.
CREATE UNIQUE INDEX "notification_deliveries_notification_id_event_key_key" ON "notification_deliveries"("notification_id", "event_key");

-- CreateIndex: the delivery worker's look for due deliveries.
CREATE INDEX "notification_deliveries_status_next_attempt_at_idx" ON "notification_deliveries"("status", "next_attempt_at");

-- AddForeignKey
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_notification_id_fkey" FOREIGN KEY ("notification_id") REFERENCES "notifications"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateTable
CREATE TABLE "repository_samples" (
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "total_bytes" BIGINT NOT NULL,
    "free_bytes" BIGINT NOT NULL,
    "used_by_backups" BIGINT NOT NULL,

    CONSTRAINT "repository_samples_pkey" PRIMARY KEY ("at")
);
