-- Issue 19 (hand-written to match prisma/schema.prisma; see
-- docs/decisions/002-hand-written-migrations.md and 015-stalls-limits-retries.md).
--
-- max_run_seconds: a job still running this long after it started fails ("ran past its time
-- limit"); null: no limit. retries: how many times a failed disk copy is tried again.
-- stalled_since: while a disk's copy is stalled, when its progress last moved; else null.
-- attempt: which try of the disk's copy this is (1 for the first).

-- AlterTable
ALTER TABLE "backup_jobs"
    ADD COLUMN "max_run_seconds" INTEGER,
    ADD COLUMN "retries" INTEGER NOT NULL DEFAULT 0,
    ADD CONSTRAINT "backup_jobs_max_run_seconds_positive" CHECK ("max_run_seconds" > 0),
    ADD CONSTRAINT "backup_jobs_retries_valid" CHECK ("retries" >= 0);

-- AlterTable
ALTER TABLE "backup_disks"
    ADD COLUMN "stalled_since" TIMESTAMPTZ(3),
    ADD COLUMN "attempt" INTEGER NOT NULL DEFAULT 1;
