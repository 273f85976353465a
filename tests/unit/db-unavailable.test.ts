// Recognising "the database cannot be reached" (503 database_unavailable) by codes, and pg's
// code-less "Connection terminated" errors, in the shapes Prisma 7 with the pg adapter and pg
// itself throw.
import net from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable, reasonOf } from "@/lib/db/unavailable";

const socketError = (code: string) =>
  Object.assign(new Error("connect failed"), { code, syscall: "connect", errno: -111 });
const known = (code: string, cause?: unknown) =>
  Object.assign(new Error("x"), {
    name: "PrismaClientKnownRequestError",
    code,
    meta: cause ? { driverAdapterError: { cause } } : {},
  });

describe("isDatabaseUnavailable", () => {
  it.each([
    ["P1001 can't reach the server", known("P1001")],
    ["P1017 the server closed the connection", known("P1017")],
    ["P2024 pool timeout", known("P2024")],
    ["an initialization error", Object.assign(new Error("x"), { errorCode: "P1001" })],
    [
      "the adapter's DatabaseNotReachable",
      Object.assign(new Error("x"), { name: "DriverAdapterError", cause: { kind: "DatabaseNotReachable" } }),
    ],
    ["a wrapped admin shutdown (57P01)", known("P2010", { kind: "postgres", code: "57P01" })],
    ["a starting server (57P03)", Object.assign(new Error("x"), { code: "57P03", severity: "FATAL" })],
    ["a connection exception (08006)", Object.assign(new Error("x"), { code: "08006", severity: "FATAL" })],
    ["ECONNREFUSED from the socket", socketError("ECONNREFUSED")],
    [
      "a cause two levels down",
      new Error("outer", { cause: new Error("middle", { cause: socketError("ECONNRESET") }) }),
    ],
    ["an AggregateError of connect attempts", Object.assign(new AggregateError([socketError("ECONNREFUSED")]), {})],
    // Long campaign seed 630662649: a pooled client whose connection broke, asked again.
    [
      "pg's client after its connection broke",
      new Error("Client has encountered a connection error and is not queryable"),
    ],
    ["pg's pool out of time to connect", new Error("timeout exceeded when trying to connect")],
  ])("recognises %s", (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it("recognises pg's own error for a connection that ended (no code), as pg really throws it", async () => {
    // A "server" that hangs up at once: pg fails the connect with its code-less error (long
    // campaign seed 1281511342: Postgres restarted under POST /backups, which answered 500).
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const client = new pg.Client({ host: "127.0.0.1", port, user: "x", database: "x", password: "x" });
    const error = await client.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    server.close();
    expect(String(error)).toMatch(/Connection terminated/);
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(isDatabaseUnavailable(new Error("outer", { cause: error }))).toBe(true);
  });

  it.each([
    ["a query's error that only mentions 'Connection terminated'", new Error("Connection terminated by the user")],
    [
      "pg's words on an error with an SQLSTATE code",
      Object.assign(new Error("Connection terminated"), { code: "42601", severity: "ERROR" }),
    ],
    ["a unique violation (P2002)", known("P2002", { kind: "UniqueConstraintViolation" })],
    ["a record not found (P2025)", known("P2025")],
    ["a syntax error (42601)", Object.assign(new Error("x"), { code: "42601", severity: "ERROR" })],
    ["a plain error saying 'connection refused' in words", new Error("connection refused")],
    ["ECONNREFUSED without a syscall (not a socket error)", Object.assign(new Error("x"), { code: "ECONNREFUSED" })],
    ["undefined", undefined],
    ["a string", "P1001"],
  ])("does not take %s for an outage", (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

describe("reasonOf", () => {
  it("says the database could not be reached instead of Prisma's multi-line text", () => {
    const prisma = Object.assign(
      new Error("\nInvalid `prisma.backupDisk.findUniqueOrThrow()` invocation:\n\nCan't reach database server"),
      {
        name: "PrismaClientKnownRequestError",
        code: "P1001",
      },
    );
    expect(reasonOf(prisma)).toBe("the database could not be reached");
    expect(reasonOf(new Error("qemu-img compare: images differ"))).toBe("qemu-img compare: images differ");
  });
});
