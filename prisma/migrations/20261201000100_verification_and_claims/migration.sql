-- Issue 11, items 3 and 16 (hand-written to match prisma/schema.prisma; see
-- docs/decisions/002-hand-written-migrations.md).
--
-- verified / verification: what the hub could prove about a backup (a compare with the source,
-- or only a consistency check), per disk and per job.
-- ending / ending_at: the claim on a job's ending. The first caller that sets it (a guarded
-- UPDATE … WHERE status IN ('queued','running') AND ending IS NULL) decides how the job ends;
-- every other ending (a cancel, a fail, the stale check) is refused or stands aside.

-- AlterTable
ALTER TABLE "backup_jobs"
    ADD COLUMN "verified" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN "verification" TEXT,
    ADD COLUMN "ending" TEXT,
    ADD COLUMN "ending_at" TIMESTAMPTZ(3),
    ADD CONSTRAINT "backup_jobs_ending_valid" CHECK ("ending" IN ('completing', 'cancelling', 'failing'));

-- AlterTable
ALTER TABLE "backup_disks"
    ADD COLUMN "verified" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN "verification" TEXT;

-- CreateIndex: an export start looks up whether its file belongs to a backup (item 2).
CREATE INDEX "backup_disks_target_path_idx" ON "backup_disks"("target_path");

-- CreateIndex
CREATE INDEX "backup_disks_backing_path_idx" ON "backup_disks"("backing_path");
