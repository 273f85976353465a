// One real PostgreSQL (the embedded binaries) for the whole Vitest run; each test file makes
// its own database in it (tests/helpers/db.ts). Also makes sure the Next build exists for the
// tests that start the real server.
import { mkdtemp, chmod, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "@/lib/db/embedded-postgres";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgRoot: string;
  }
}

export default async function setup(project: TestProject) {
  const { ensureBuild } = (await import(path.resolve(__dirname, "../../scripts/setup.mjs"))) as {
    ensureBuild: () => void;
  };
  if (!process.env.NBDHUB_SKIP_BUILD) ensureBuild();
  const root = await mkdtemp(path.join(os.tmpdir(), "nbdhub-test-pg-"));
  // The embedded Postgres runs as the postgres user: it must be able to enter this folder.
  await chmod(root, 0o755);
  const pg = await startEmbeddedPostgres(root);
  const admin = new URL(pg.url);
  admin.pathname = "/postgres";
  project.provide("pgAdminUrl", admin.toString());
  project.provide("pgRoot", root);
  return async () => {
    await pg.stop();
    await rm(root, { recursive: true, force: true });
  };
}
