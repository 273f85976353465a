// Prisma CLI configuration. The migration engine is not used here (migrations are
// hand-written SQL applied by lib/db/migrator.ts); `prisma generate` needs no database.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost/nbdhub" },
});
