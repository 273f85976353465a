// The runtime stops what it started: a start that fails after the embedded PostgreSQL is up
// stops it again (it used to stay running, orphaned), and stop() runs every step even when one
// of them throws (it used to give up at the first, leaving the database and Postgres running).
// In-process, with a real embedded PostgreSQL in a data directory of the test's own.
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, type Config } from "@/lib/config/env";
import { startEmbeddedPostgres } from "@/lib/db/embedded-postgres";
import { createLogger } from "@/lib/log";
import { startRuntime } from "@/lib/runtime/runtime";
import { freePortRange } from "../helpers/ports";

let dataDir: string;
let config: Config;
const lines: string[] = [];
const log = createLogger("test", (line) => lines.push(line));

/** Does the embedded PostgreSQL of the data directory accept connections? */
async function postgresAccepts(): Promise<boolean> {
  const metaFile = path.join(dataDir, "postgres", "nbdhub-postgres.json");
  const meta = JSON.parse(await readFile(metaFile, "utf8")) as { port: number };
  return new Promise((resolve) => {
    const socket = net.connect(meta.port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const postmasterPid = () => path.join(dataDir, "postgres", "data", "postmaster.pid");

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-lifecycle-"));
  // The embedded Postgres runs as the postgres user: it must be able to enter this folder.
  await chmod(dataDir, 0o755);
  const range = await freePortRange(4);
  const ports = `${range.min}-${range.max}`;
  config = parseConfig({ NBDHUB_DATA_DIR: dataDir, NBDHUB_PORT_RANGE: ports, NBDHUB_DEMO_SOURCES: "0" });
});

afterAll(async () => {
  // Whatever a failed assertion left running: the cluster is found running and stopped.
  if (dataDir && existsSync(postmasterPid())) await (await startEmbeddedPostgres(dataDir)).stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("the runtime's start and stop", () => {
  it("a start that fails after Postgres started stops Postgres again", async () => {
    // A truncated session key: the auth step, after Postgres and the migrations, refuses it.
    await mkdir(path.join(dataDir, "secrets"), { recursive: true, mode: 0o700 });
    await writeFile(path.join(dataDir, "secrets", "session-key"), "too-short", { mode: 0o600 });
    await expect(startRuntime(config, { log })).rejects.toThrow(/session key .* is too short/);
    // Postgres really ran (the schema was migrated) before the step that failed…
    expect(
      lines.some((l) => /database migrated/.test(l)),
      lines.join("\n"),
    ).toBe(true);
    // …and is stopped now.
    expect(existsSync(postmasterPid()), "postmaster.pid of the embedded cluster").toBe(false);
    expect(await postgresAccepts()).toBe(false);
  });

  it("stop() runs every step even when one throws, and says which one failed", async () => {
    await rm(path.join(dataDir, "secrets", "session-key"));
    const runtime = await startRuntime(config, { log });
    expect(await postgresAccepts()).toBe(true);
    runtime.backups.stop = async () => {
      throw new Error("the runner could not stop");
    };
    const stopping = runtime.stop();
    await expect(stopping).rejects.toThrow(/the runner could not stop/);
    // The steps below the runner still ran: the embedded Postgres (the last one) is stopped.
    expect(existsSync(postmasterPid()), "postmaster.pid of the embedded cluster").toBe(false);
    expect(await postgresAccepts()).toBe(false);
    // The answer and the log name the step that failed.
    await expect(stopping).rejects.toThrow(/backup runner: the runner could not stop/);
    expect(lines.some((l) => /could not stop the backup runner/.test(l))).toBe(true);
  });
});
