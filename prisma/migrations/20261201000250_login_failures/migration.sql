-- Issue 11, item 8: the sign-in brake counts failures per (address, account) and per
-- address. It used to count audit rows, but refused requests' audit rows are to be
-- rate-limited and aggregated under a flood (item 11), and that must not weaken the brake:
-- failures get a table of their own.
-- Rows older than the brake's window (15 minutes) are removed by lib/auth/throttle.ts.

-- CreateTable
CREATE TABLE "login_failures" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "username" TEXT NOT NULL,
    "client_ip" TEXT,

    CONSTRAINT "login_failures_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "login_failures_username_client_ip_at_idx" ON "login_failures"("username", "client_ip", "at" DESC);

-- CreateIndex
CREATE INDEX "login_failures_client_ip_at_idx" ON "login_failures"("client_ip", "at" DESC);

-- CreateIndex
CREATE INDEX "login_failures_at_idx" ON "login_failures"("at");
