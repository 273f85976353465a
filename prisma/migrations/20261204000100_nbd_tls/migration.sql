-- Issue 17 (TLS): an export may require TLS with a pre-shared key made for it, and an export only
-- the hub itself uses listens on loopback whatever NBDHUB_NBD_BIND says (hand-written to match
-- prisma/schema.prisma; see docs/decisions/002-hand-written-migrations.md and 019-nbd-tls.md).
--
-- nbd_exports.tls: qemu-nbd was started with --tls-creds (its URI reads nbds://).
-- nbd_exports.hub_only: bound to 127.0.0.1 for the hub's own mover, without TLS.

-- AlterTable
ALTER TABLE "nbd_exports" ADD COLUMN "tls" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "nbd_exports" ADD COLUMN "hub_only" BOOLEAN NOT NULL DEFAULT false;
