-- Issue 18, lost nodes (docs/decisions/031-lost-nodes.md): an export of a node whose heartbeat is
-- older than the lease is marked `lost` by the live node that recovers it (its qemu-nbd is not
-- signalled: it belongs to the lost node, whose own start ends it when it comes back). `lost` is
-- not live: the (node, port) unique index of live exports does not count it.
ALTER TABLE "nbd_exports" DROP CONSTRAINT "nbd_exports_status_valid";
ALTER TABLE "nbd_exports" ADD CONSTRAINT "nbd_exports_status_valid"
    CHECK ("status" IN ('starting', 'ready', 'stopping', 'stopped', 'crashed', 'lost'));
