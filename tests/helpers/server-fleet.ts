// What one test file starts and must undo, kept in one place: servers, each on a fresh database
// of its own (and a port range of its own when asked), connections to those databases, and
// nbdkit sources. end() undoes all of it, in that order, every step even when one fails,
// and then fails with the first failure (a server that would not stop, say).
import pg from "pg";
import { createTestDatabase, dropTestDatabase } from "./db";
import type { NbdSource } from "./nbdkit";
import { freePortRange } from "./ports";
import { startServer, type StartOptions, type TestServer } from "./server";

export class ServerFleet {
  private readonly servers: TestServer[] = [];
  private readonly databases: string[] = [];
  private readonly clients: pg.Client[] = [];
  private readonly sources: NbdSource[] = [];

  /** `prefix` starts the names of the databases (e.g. "authtok" makes authtok_3f9a…). */
  constructor(private readonly prefix: string) {}

  /** A server on a new database; with `ports`, also with a free NBD port range of that size. */
  async start(
    env: Record<string, string> = {},
    { ports, ...options }: StartOptions & { ports?: number } = {},
  ): Promise<TestServer> {
    const database = await createTestDatabase(this.prefix);
    this.databases.push(database);
    const range = ports ? await freePortRange(ports) : undefined;
    const portRange: Record<string, string> = range ? { NBDHUB_PORT_RANGE: `${range.min}-${range.max}` } : {};
    return this.track(await startServer({ DATABASE_URL: database, ...portRange, ...env }, options));
  }

  /** Another server on the database and data directory of `server` (after it stopped or crashed). */
  async startAgain(server: TestServer, env: Record<string, string> = {}): Promise<TestServer> {
    return this.track(await startServer({ ...server.env, ...env }));
  }

  /** A connection to the database of `server`, for what the API does not show. */
  async client(server: TestServer): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: server.env.DATABASE_URL });
    this.clients.push(client);
    await client.connect();
    return client;
  }

  /** Keep a source being started (`fleet.source(slowSource("256M", "4M"))`) to stop it at the end. */
  async source<Source extends NbdSource>(starting: Promise<Source>): Promise<Source> {
    const source = await starting;
    this.sources.push(source);
    return source;
  }

  async end(): Promise<void> {
    const failures: unknown[] = [];
    const each = async <T>(items: T[], undo: (item: T) => Promise<unknown>) => {
      for (const item of items.splice(0)) await undo(item).catch((error: unknown) => failures.push(error));
    };
    await each(this.clients, (c) => c.end());
    await each(this.sources, (s) => s.stop());
    await each(this.servers, (s) => s.stop());
    await each(this.databases, (d) => dropTestDatabase(d));
    if (failures.length) throw failures[0];
  }

  private track(server: TestServer): TestServer {
    this.servers.push(server);
    return server;
  }
}
