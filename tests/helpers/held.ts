// After a job or restore ended: the server holds no port, runs no export, and no qemu-nbd or
// mover of it is left (what a user checks on the Ports and Exports pages, and with ps).
import path from "node:path";
import { expect } from "vitest";
import { processesOf } from "./processes";
import type { TestServer } from "./server";

export async function expectNothingHeld(server: TestServer): Promise<void> {
  const ports = await server.api<{ allocated: number }>("GET", "/nbd/ports");
  expect(ports.body.allocated, "ports still held").toBe(0);
  const exports = await server.api<{ count: number }>("GET", "/nbd/qemu-nbd");
  expect(exports.body.count, "exports still running").toBe(0);
  expect(await processesOf(path.join(server.dataDir, "run"))).toEqual([]);
}
