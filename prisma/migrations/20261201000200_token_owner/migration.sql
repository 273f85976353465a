-- Issue 11, item 6: an API token belongs to whoever made it. A token made by a signed-in
-- user names that user; a token made with another token names that token (and its user).
-- lib/auth/tokens.ts refuses a token whose maker is gone, disabled or revoked, and narrows
-- its role to the maker's current one. `created_by` keeps the name people read.

ALTER TABLE "api_tokens" ADD COLUMN "created_by_user_id" TEXT;
ALTER TABLE "api_tokens" ADD COLUMN "created_by_token_id" TEXT;

-- Tokens made before this migration: find the maker by the name that was recorded.
UPDATE "api_tokens" t SET "created_by_user_id" = u."id"
  FROM "users" u
 WHERE t."created_by" = u."username";

-- `token:<name>`: the newest token of that name made before this one.
UPDATE "api_tokens" t SET "created_by_token_id" = (
    SELECT p."id" FROM "api_tokens" p
     WHERE 'token:' || p."name" = t."created_by" AND p."id" <> t."id" AND p."created_at" <= t."created_at"
     ORDER BY p."created_at" DESC LIMIT 1)
 WHERE t."created_by" LIKE 'token:%';

UPDATE "api_tokens" t SET "created_by_user_id" = p."created_by_user_id"
  FROM "api_tokens" p
 WHERE t."created_by_token_id" = p."id" AND t."created_by_user_id" IS NULL;

-- A token whose maker cannot be found any more would outlive them: it ends here.
UPDATE "api_tokens" SET "revoked_at" = CURRENT_TIMESTAMP
 WHERE "revoked_at" IS NULL
   AND "created_by" IS DISTINCT FROM 'NBDHUB_BOOTSTRAP_TOKEN'
   AND "created_by_user_id" IS NULL AND "created_by_token_id" IS NULL;

-- CreateIndex
CREATE INDEX "api_tokens_created_by_user_id_idx" ON "api_tokens"("created_by_user_id");

-- CreateIndex
CREATE INDEX "api_tokens_created_by_token_id_idx" ON "api_tokens"("created_by_token_id");

-- AddForeignKey: deleting a user keeps their tokens' rows (revoked, for the record).
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_created_by_user_id_fkey" FOREIGN KEY ("created_by_user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_created_by_token_id_fkey" FOREIGN KEY ("created_by_token_id") REFERENCES "api_tokens"("id") ON DELETE SET NULL ON UPDATE CASCADE;
