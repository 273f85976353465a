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
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { waitFor } from "../helpers/wait";

let url: string;
let db: Db;

beforeAll(async () => {
  url = await createTestDatabase("stream");
  await migrate(url, path.resolve(__dirname, "../../prisma/migrations"));
  db = createDb(url);
  await db.backupJob.create({ data: { id: "job-s", node: "n1", vmName: "vm1", type: "full", status: "running" } });
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
      const events = new JobEvents(
        db,
        createLogger("test", () => undefined),
      );
      const deps = { db, events, maxStreamsPerCaller: 8 };
      const abort = new AbortController();
      const response = await jobEventStream(deps, "job-s", { kind: "token", id: "t1" }, abort.signal);
      const reader = response.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^event: job/);
      // The job ends (the broadcaster re-reads it to send the last state) and, meanwhile, the
      // console tab closes, and the request is aborted.
      events.ended("job-s");
      await reader.cancel();
      abort.abort();
      await waitFor(() => events.streamStats().pending === 0 && events.streamStats().open === 0, {
        timeoutMs: 10_000,
        what: "the stream to close and its read to settle",
      });
      for (let i = 0; i < 3; i += 1) await new Promise((resolve) => setImmediate(resolve));
      expect(rejections.map(String)).toEqual([]);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  });
});
