-- Issue 13: incrementals that move only what changed (hand-written to match prisma/schema.prisma;
-- see docs/decisions/002-hand-written-migrations.md and 010-incrementals.md).
--
-- copy_mode / copy_reason: how each disk was copied and why (the plan, or its fallback).
-- backing_job_id: the job of the previous point an incremental builds on.
-- changed_bytes: what the source reported changed (dirty extents) or was found different.
-- dirty_bitmap: the NBD source's qemu:dirty-bitmap:NAME named by the request.
-- source_bitmap: the persistent bitmap (nbdhub-<jobId>) the job added to its qcow2 source.
-- progress_done_bytes / progress_total_bytes: what the disk's progress counts (bytes to move,
-- or to examine), beside transferred_bytes (bytes written into the target).

-- AlterTable
ALTER TABLE "backup_disks"
    ADD COLUMN "copy_mode" TEXT,
    ADD COLUMN "copy_reason" TEXT,
    ADD COLUMN "backing_job_id" TEXT,
    ADD COLUMN "changed_bytes" BIGINT,
    ADD COLUMN "dirty_bitmap" TEXT,
    ADD COLUMN "source_bitmap" TEXT,
    ADD COLUMN "progress_done_bytes" BIGINT,
    ADD COLUMN "progress_total_bytes" BIGINT,
    ADD CONSTRAINT "backup_disks_copy_mode_valid" CHECK ("copy_mode" IN ('full', 'changed-blocks', 'content-diff'));

-- CreateIndex: the orphan-bitmap sweep looks up the jobs that left a bitmap on a source.
CREATE INDEX "backup_disks_source_bitmap_idx" ON "backup_disks"("source_bitmap");
