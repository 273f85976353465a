-- Issue 19: a copy restore follows the stall rule of a backup disk (hand-written to match
-- prisma/schema.prisma; see docs/decisions/002-hand-written-migrations.md and 015-stalls-limits-retries.md).
--
-- restore_disks.stalled_since: when the copy's progress last moved, while it does not move
-- (null while it moves, or once the disk left `transferring`).

-- AlterTable
ALTER TABLE "restore_disks" ADD COLUMN "stalled_since" TIMESTAMPTZ(3);
