-- Issue 14: restores. A restore serves a completed backup (a restore point) read-only over NBD
-- (mode 'export', until expires_at) or copies it to a new file or an NBD destination (mode
-- 'copy'). Its exports are nbd_exports rows like a backup's: owner_kind says whose they are
-- (job_id then holds the restore's id), so the reconciler ends them at start and the console
-- shows them as a restore's.

-- AlterTable
ALTER TABLE "nbd_exports" ADD COLUMN "owner_kind" TEXT NOT NULL DEFAULT 'backup';

-- CreateTable
CREATE TABLE "restores" (
    "id" TEXT NOT NULL,
    "job_id" TEXT NOT NULL,
    "vm_name" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3),
    "requested_by" TEXT,
    "error" TEXT,
    "ending" TEXT,
    "ending_at" TIMESTAMPTZ(3),

    CONSTRAINT "restores_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "restore_disks" (
    "restore_id" TEXT NOT NULL,
    "disk_id" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "point_path" TEXT NOT NULL,
    "chain" JSONB NOT NULL,
    "destination" JSONB,
    "output_path" TEXT,
    "port" INTEGER,
    "export_name" TEXT,
    "nbd_uri" TEXT,
    "pid" INTEGER,
    "status" TEXT NOT NULL,
    "total_bytes" BIGINT NOT NULL DEFAULT 0,
    "transferred_bytes" BIGINT NOT NULL DEFAULT 0,
    "bytes_per_second" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "eta_seconds" INTEGER,
    "progress_at" TIMESTAMPTZ(3),
    "error" TEXT,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "restore_disks_pkey" PRIMARY KEY ("restore_id","disk_id")
);

-- CreateIndex
CREATE INDEX "restores_created_at_id_idx" ON "restores"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "restores_status_idx" ON "restores"("status");

-- CreateIndex
CREATE INDEX "restores_job_id_idx" ON "restores"("job_id");

-- CreateIndex
CREATE INDEX "restores_vm_name_created_at_idx" ON "restores"("vm_name", "created_at" DESC);

-- AddForeignKey
ALTER TABLE "restore_disks" ADD CONSTRAINT "restore_disks_restore_id_fkey" FOREIGN KEY ("restore_id") REFERENCES "restores"("id") ON DELETE CASCADE ON UPDATE CASCADE;
