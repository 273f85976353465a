// A job's event stream closes once (issue 11, item 17): a reader that goes away while the
// stream re-reads the job must not make the late write, or the second close, an unhandled
// rejection in the server.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobEventStream } from "@/lib/backup/event-stream";
import { JobEvents } from "@/lib/backup/events";
import { migrate } from "@/lib/db/migrator";
import { createDb, type Db } from "@/lib/db/prisma";
import { createLogger } from "@/lib/log";
import type { Runtime } from "@/lib/runtime/runtime";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";

let url: string;
let db: Db;

beforeAll(async () => {
  url = await createTestDatabase("stream");
  await migrate(url, path.resolve(__dirname, "../../prisma/migrations"));
  db = createDb(url);
  await db.backupJob.create({ data: { id: "job-s", vmName: "vm1", type: "full", status: "running" } });
});

afterAll(async () => {
  await db?.$disconnect();
  if (url) await dropTestDatabase(url);
});

describe("job event stream", () => {
  it("a reader leaving while the job is re-read closes the stream once, without an unhandled rejection", async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
      const events = new JobEvents(db, createLogger("test", () => undefined));
      const reads: Promise<unknown>[] = [];
      // The stream's reads of the job, observed so the test knows when one has come back.
      const backupJob = {
        findUnique: (args: Parameters<Db["backupJob"]["findUnique"]>[0]) => {
          const read = db.backupJob.findUnique(args);
          reads.push(read.then(() => undefined));
          return read;
        },
      };
      const runtime = { db: { backupJob }, backups: { events } } as unknown as Runtime;
      const abort = new AbortController();
      const response = await jobEventStream(runtime, "job-s", abort.signal);
      const reader = response.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^event: job/);
      await Promise.all(reads);
      // The job ends (the stream re-reads it to send the last state) and, meanwhile, the
      // console tab closes, and the request is aborted.
      events.ended("job-s");
      await reader.cancel();
      abort.abort();
      await Promise.all(reads);
      for (let i = 0; i < 3; i += 1) await new Promise((resolve) => setImmediate(resolve));
      expect(rejections.map(String)).toEqual([]);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  });
});
