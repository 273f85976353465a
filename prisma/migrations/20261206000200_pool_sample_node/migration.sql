-- Issue 18 (several hubs on one Postgres): pool samples name their node (hand-written to match
-- prisma/schema.prisma; see docs/decisions/002-hand-written-migrations.md and 026-nodes.md).
--
-- Each node samples its own pool (its range, its allocations, its exports, the bytes its jobs
-- moved), so the dashboard can chart one node or the sum of all. Two nodes may sample in the
-- same millisecond: the key is (at, node), "at" first so the dashboard's and the purge's time
-- ranges still read the key's index.
--
-- Samples written before nodes existed get the empty node '': the first node to start claims
-- them with the other unowned rows (lib/node/claim.ts). The column has no default afterwards:
-- the sampler names its node.

ALTER TABLE "pool_samples" ADD COLUMN "node" TEXT NOT NULL DEFAULT '';
ALTER TABLE "pool_samples" ALTER COLUMN "node" DROP DEFAULT;
ALTER TABLE "pool_samples" DROP CONSTRAINT "pool_samples_pkey";
ALTER TABLE "pool_samples" ADD CONSTRAINT "pool_samples_pkey" PRIMARY KEY ("at", "node");
