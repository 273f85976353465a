// The daily purge (issue 11, item 13) against a real PostgreSQL: rows past their retention go,
// new rows and rows of live things (usable sessions, events of running jobs, running exports)
// stay, 0 days keeps a kind for ever, and the embedded Postgres's log is rotated above its size.
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config/env";
import { migrate } from "@/lib/db/migrator";
import { createDb, type Db } from "@/lib/db/prisma";
import { createLogger } from "@/lib/log";
import { startDailyPurge } from "@/lib/maintenance/daily-purge";
import { embeddedPostgresLogFile } from "@/lib/maintenance/postgres-log";
import { purgeExpiredRows } from "@/lib/maintenance/retention";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";

const DAY = 24 * 3600 * 1000;
const ago = (days: number) => new Date(Date.now() - days * DAY);
const ahead = (days: number) => new Date(Date.now() + days * DAY);

let url: string;
let db: Db;

beforeAll(async () => {
  url = await createTestDatabase("retention");
  await migrate(url, path.resolve(__dirname, "../../prisma/migrations"));
  db = createDb(url);
});

afterAll(async () => {
  await db?.$disconnect();
  if (url) await dropTestDatabase(url);
});

/** Seed one of everything, old and new, live and ended; returns the ids that must stay. */
async function seed(): Promise<Record<string, string[]>> {
  await db.auditEvent.createMany({
    data: [
      { at: ago(100), actor: "old", action: "x", result: "allowed" },
      { at: ago(89), actor: "recent", action: "x", result: "allowed" },
      { at: ago(0), actor: "new", action: "x", result: "allowed" },
    ],
  });
  const user = await db.user.create({
    data: { id: randomUUID(), username: `u-${randomUUID().slice(0, 8)}`, passwordHash: "x", role: "viewer" },
  });
  const session = (id: string, data: { expiresAt: Date; lastSeenAt: Date; revokedAt?: Date; createdAt?: Date }) => ({
    id,
    userId: user.id,
    ...data,
  });
  await db.session.createMany({
    data: [
      session("s-expired-long-ago", { createdAt: ago(41), expiresAt: ago(40), lastSeenAt: ago(40) }),
      session("s-revoked-long-ago", {
        createdAt: ago(40),
        expiresAt: ahead(1),
        lastSeenAt: ago(40),
        revokedAt: ago(40),
      }),
      session("s-expired-lately", { createdAt: ago(11), expiresAt: ago(10), lastSeenAt: ago(10) }),
      session("s-live", { createdAt: ago(0), expiresAt: ahead(0.4), lastSeenAt: ago(0) }),
    ],
  });
  const job = (id: string, status: string, finishedAt: Date | null, createdAt: Date) => ({
    id,
    node: "n1",
    vmName: "vm",
    type: "full",
    status,
    finishedAt,
    createdAt,
  });
  await db.backupJob.createMany({
    data: [
      job("j-ended-long-ago", "completed", ago(100), ago(100)),
      job("j-ended-lately", "failed", ago(10), ago(10)),
      job("j-running-for-ever", "running", null, ago(200)),
    ],
  });
  for (const jobId of ["j-ended-long-ago", "j-ended-lately", "j-running-for-ever"]) {
    await db.jobEvent.createMany({ data: [0, 1].map((i) => ({ jobId, kind: "k", message: `m${i}`, at: ago(150) })) });
  }
  const exp = (id: string, status: string, startedAt: Date, stoppedAt: Date | null) => ({
    id,
    node: "n1",
    port: 10100,
    exportName: "e",
    filePath: "/x.qcow2",
    jobId: "j",
    vmName: "vm",
    diskId: "d",
    status,
    startedAt,
    stoppedAt,
  });
  await db.nbdExport.createMany({
    data: [
      exp("e-stopped-long-ago", "stopped", ago(41), ago(40)),
      exp("e-crashed-long-ago", "crashed", ago(41), ago(40)),
      exp("e-stopped-lately", "stopped", ago(6), ago(5)),
      exp("e-ready-for-ever", "ready", ago(100), null),
    ],
  });
  await db.poolSample.createMany({
    data: [
      { at: ago(40), node: "hub", total: 4, allocated: 0, exports: 0 },
      { at: ago(1), node: "hub", total: 4, allocated: 0, exports: 0 },
    ],
  });
  const space = { totalBytes: 1n << 30n, freeBytes: 1n << 29n, usedByBackups: 1n << 20n };
  await db.repositorySample.createMany({
    data: [
      { at: ago(40), ...space },
      { at: ago(1), ...space },
    ],
  });
  return {
    audit: ["recent", "new"],
    sessions: ["s-expired-lately", "s-live"],
    eventsOf: ["j-ended-lately", "j-running-for-ever"],
    exports: ["e-ready-for-ever", "e-stopped-lately"],
  };
}

async function clear(): Promise<void> {
  await db.auditEvent.deleteMany();
  await db.session.deleteMany();
  await db.user.deleteMany();
  await db.jobEvent.deleteMany();
  await db.backupJob.deleteMany();
  await db.nbdExport.deleteMany();
  await db.poolSample.deleteMany();
  await db.repositorySample.deleteMany();
}

describe("retention", () => {
  it("purges what is past its retention and keeps new rows and rows of live things", async () => {
    await clear();
    const keep = await seed();
    const config = parseConfig({});
    const counts = await purgeExpiredRows(db, config.retention);
    expect(counts).toEqual({
      auditEvents: 1,
      sessions: 2,
      jobEvents: 2,
      exports: 2,
      poolSamples: 1,
      repositorySamples: 1,
    });

    expect((await db.auditEvent.findMany({ orderBy: { id: "asc" } })).map((r) => r.actor)).toEqual(keep.audit);
    expect((await db.session.findMany({ orderBy: { id: "asc" } })).map((r) => r.id)).toEqual(keep.sessions);
    const events = await db.jobEvent.findMany({ select: { jobId: true } });
    expect([...new Set(events.map((e) => e.jobId))].sort()).toEqual(keep.eventsOf);
    expect(events).toHaveLength(4);
    // The job rows themselves (the backup history) stay.
    expect(await db.backupJob.count()).toBe(3);
    expect((await db.nbdExport.findMany({ orderBy: { id: "asc" } })).map((r) => r.id)).toEqual(keep.exports);
    expect(await db.poolSample.count()).toBe(1);
    // The repository's use over time (the dashboard's chart) is purged like the pool's samples.
    expect((await db.repositorySample.findMany()).map((r) => r.at.getTime() > Date.now() - 2 * DAY)).toEqual([true]);

    // A second run finds nothing more.
    expect(await purgeExpiredRows(db, config.retention)).toEqual({
      auditEvents: 0,
      sessions: 0,
      jobEvents: 0,
      exports: 0,
      poolSamples: 0,
      repositorySamples: 0,
    });
  });

  it("honours the settings: shorter retention removes more, 0 days keeps a kind for ever", async () => {
    await clear();
    await seed();
    const config = parseConfig({
      NBDHUB_RETENTION_AUDIT_DAYS: "0",
      NBDHUB_RETENTION_SESSIONS_DAYS: "5",
      NBDHUB_RETENTION_JOB_EVENTS_DAYS: "0",
      NBDHUB_RETENTION_EXPORTS_DAYS: "1",
      NBDHUB_RETENTION_POOL_SAMPLES_DAYS: "60",
    });
    const counts = await purgeExpiredRows(db, config.retention);
    expect(counts).toEqual({
      auditEvents: 0,
      sessions: 3,
      jobEvents: 0,
      exports: 3,
      poolSamples: 0,
      repositorySamples: 0,
    });
    expect(await db.repositorySample.count()).toBe(2);
    expect((await db.session.findMany()).map((s) => s.id)).toEqual(["s-live"]);
    expect((await db.nbdExport.findMany()).map((e) => e.id)).toEqual(["e-ready-for-ever"]);
  });

  it("a bad retention setting stops the start with the variable's name", () => {
    expect(() => parseConfig({ NBDHUB_RETENTION_AUDIT_DAYS: "-1" })).toThrow(
      /NBDHUB_RETENTION_AUDIT_DAYS="-1" is not valid/,
    );
    expect(() => parseConfig({ NBDHUB_POSTGRES_LOG_MAX_MB: "lots" })).toThrow(
      /NBDHUB_POSTGRES_LOG_MAX_MB="lots" is not valid/,
    );
  });

  it("runs at start, says what it removed, and rotates the embedded Postgres's log above its size", async () => {
    await clear();
    await seed();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-retention-"));
    try {
      const logFile = embeddedPostgresLogFile(dataDir);
      await mkdir(path.dirname(logFile), { recursive: true });
      const big = Buffer.alloc(1024 * 1024 + 10, "a");
      await writeFile(logFile, big);
      const lines: string[] = [];
      const config = parseConfig({ NBDHUB_DATA_DIR: dataDir, NBDHUB_POSTGRES_LOG_MAX_MB: "1" });
      const purge = startDailyPurge({ db, config, log: createLogger("purge", (l) => lines.push(l)) });
      try {
        await purge.runNow();
      } finally {
        await purge.stop();
      }
      const said = lines.find((l) => l.includes("purged"));
      expect(said).toMatch(/purged 1 audit rows, 2 ended sessions, 2 job events of ended jobs, 2 ended export rows, /);
      expect(said).toMatch(/ended export rows, 1 pool samples, 1 repository samples past their retention/);
      expect(said).toMatch(/rotated postgres\.log/);
      expect((await stat(logFile)).size).toBe(0);
      expect((await readFile(`${logFile}.1`)).equals(big)).toBe(true);
      expect((await stat(`${logFile}.1`)).mode & 0o077).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
