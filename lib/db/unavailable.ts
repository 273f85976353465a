// "The database cannot be reached right now" (stopped, restarting, refusing connections), as
// opposed to a query that is wrong. Recognised by error codes: Prisma's P-codes, the kinds its
// pg driver adapter reports, PostgreSQL's SQLSTATE classes and Node's socket error codes, looked
// for along the `cause` chain. One exception: pg raises a connection that ended under a query as
// a plain Error without a code (pg/lib/client.js, its 'end' handler), and the adapter passes it
// through as it is; those exact messages, on an error without a code, count too.
// No "server-only": pure logic, unit-tested without a database.
import { messageOf } from "@/lib/messages";

/** Prisma: can't reach the server, timed out, connection closed, pool timeout, too many connections. */
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2037"]);
/** What @prisma/adapter-pg says when the socket, not the query, failed. */
const ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/**
 * SQLSTATE: class 08 (connection exception), 57P01-57P03 (admin/crash shutdown, cannot connect
 * now: the server is stopping or starting), 53300 (too many connections).
 */
function isUnavailableSqlState(code: string): boolean {
  return /^08[0-9A-Z]{3}$/.test(code) || code === "57P01" || code === "57P02" || code === "57P03" || code === "53300";
}

/**
 * pg's own words for a connection that ended or could not be made (pg/lib/client.js and
 * pg-pool), the only such errors it gives no code.
 */
const PG_CONNECTION_ENDED = new Set([
  "Connection terminated unexpectedly",
  "Connection terminated",
  "Connection terminated due to connection timeout",
  "Client has encountered a connection error and is not queryable",
  "Client was closed and is not queryable",
  "timeout exceeded when trying to connect",
]);

type Loose = Record<string, unknown>;

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Loose)[key] : undefined;
}

function adapterCauseUnavailable(cause: unknown): boolean {
  const kind = field(cause, "kind");
  if (typeof kind === "string" && ADAPTER_KINDS.has(kind)) return true;
  if (kind === "postgres") {
    const code = field(cause, "code") ?? field(cause, "originalCode");
    return typeof code === "string" && isUnavailableSqlState(code);
  }
  const original = field(cause, "originalCode");
  return typeof original === "string" && isUnavailableSqlState(original);
}

function oneUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = field(error, "code");
  const errorCode = field(error, "errorCode"); // PrismaClientInitializationError
  for (const c of [code, errorCode]) {
    if (typeof c !== "string") continue;
    if (PRISMA_CODES.has(c)) return true;
    // A Node socket error carries a syscall; pg's DatabaseError carries a severity.
    if (SOCKET_CODES.has(c) && typeof field(error, "syscall") === "string") return true;
    if (typeof field(error, "severity") === "string" && isUnavailableSqlState(c)) return true;
  }
  if (code === undefined && errorCode === undefined && PG_CONNECTION_ENDED.has(String(field(error, "message")))) {
    return true;
  }
  // Prisma's wrapper of a driver adapter error, and the adapter's own error.
  if (adapterCauseUnavailable(field(field(field(error, "meta"), "driverAdapterError"), "cause"))) return true;
  if (field(error, "name") === "DriverAdapterError" && adapterCauseUnavailable(field(error, "cause"))) return true;
  return false;
}

/** True when the error (or one of its causes) says the database is unreachable, not that a query failed. */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth += 1) {
    if (oneUnavailable(current)) return true;
    // AggregateError (a connect to several addresses) holds the socket errors in `errors`.
    const many = field(current, "errors");
    if (Array.isArray(many) && many.some((e) => oneUnavailable(e))) return true;
    current = field(current, "cause");
  }
  return false;
}

/**
 * What a person reads when an operation failed: for an unreachable database one plain sentence
 * instead of the driver's multi-line text (which quotes source code), otherwise the message.
 */
export function reasonOf(error: unknown): string {
  return isDatabaseUnavailable(error) ? "the database could not be reached" : messageOf(error);
}
