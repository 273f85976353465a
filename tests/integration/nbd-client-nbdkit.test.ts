// The NBD client against real nbdkit servers: memory and data plugins, a small maximum block
// size (blocksize-policy), injected errors (error filter), slow replies (delay filter), and a
// multi-conn pool.
import { randomBytes } from "node:crypto";
import { getEventListeners } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  NbdConnectionError,
  NbdError,
  NbdTimeoutError,
  collectExtents,
  connect,
  openPool,
  BASE_ALLOCATION,
} from "@/lib/nbd/client";
import { startNbdkitServer, type NbdSource } from "../helpers/nbdkit";
import { startQemuNbd } from "../helpers/qemu-nbd-server";
import { waitFor } from "../helpers/wait";

const KiB = 1024;
const MiB = 1024 * 1024;
let dir: string;
let stops: (() => Promise<void>)[] = [];

async function nbdkit(args: string[], filters: string[] = []): Promise<NbdSource> {
  const s = await startNbdkitServer(args, { filters });
  stops.push(s.stop);
  return s;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "nbdc-nbdkit-"));
});
afterEach(async () => {
  await Promise.all(stops.map((s) => s()));
  stops = [];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("NBD client against nbdkit", () => {
  it("writes, reads back, zeroes (also fast) and trims the memory plugin", async () => {
    const server = await nbdkit(["memory", "size=32M"]);
    const c = await connect(server.uri);
    try {
      expect(c.features).toMatchObject({ readOnly: false, canFastZero: true, canMultiConn: true, canTrim: true });
      const data = randomBytes(5 * MiB + 3);
      await c.write(7, data);
      expect((await c.read(7, data.length)).equals(data)).toBe(true);
      await c.writeZeroes(MiB, MiB, { fastZero: true });
      await c.trim(3 * MiB, MiB, { fua: true });
      await c.flush();
      const expected = Buffer.alloc(8 * MiB);
      data.copy(expected, 7);
      expected.fill(0, MiB, 2 * MiB);
      expected.fill(0, 3 * MiB, 4 * MiB); // the memory plugin's trim punches holes that read as zero
      const got = await c.read(0, 8 * MiB);
      expect(got.equals(expected)).toBe(true);
      const out = path.join(dir, "memory.copy");
      await execa("nbdcopy", [server.uri, out]);
      expect((await readFile(out)).subarray(0, 8 * MiB).equals(got)).toBe(true);
      const holes = await collectExtents(c, BASE_ALLOCATION, 3 * MiB, MiB);
      expect(holes).toEqual([{ offset: 3 * MiB, length: MiB, flags: 3 }]);
    } finally {
      await c.disconnect();
    }
  });

  it("reads the data plugin byte for byte as nbdcopy does", async () => {
    const layout = "data=( 0x55 0xaa 1 2 3 )*3000 @1048576 ( 0xff )*4096 @2000000 0x42";
    const server = await nbdkit(["data", layout, "size=3M"]);
    const c = await connect(server.uri);
    try {
      expect(c.size).toBe(3 * MiB);
      const got = await c.read(0, c.size);
      expect([...got.subarray(0, 6)]).toEqual([0x55, 0xaa, 1, 2, 3, 0x55]);
      expect(got.subarray(MiB, MiB + 4096).every((b) => b === 0xff)).toBe(true);
      expect(got[2000000]).toBe(0x42);
      const out = path.join(dir, "data.copy");
      await execa("nbdcopy", [server.uri, out]);
      expect((await readFile(out)).equals(got)).toBe(true);
    } finally {
      await c.disconnect();
    }
  });

  it("works with simple replies only, and refuses an oldstyle server clearly", async () => {
    const server = await nbdkit(["memory", "size=4M"]);
    const c = await connect(server.uri, { structuredReplies: false });
    try {
      expect(c.structuredReplies).toBe(false);
      expect(c.features.canBlockStatus).toBe(false);
      expect(c.metaContexts.size).toBe(0);
      const data = randomBytes(3 * MiB);
      await c.write(MiB, data);
      const reads = [c.read(MiB, MiB), c.read(2 * MiB, 2 * MiB), c.read(0, MiB)];
      const [a, b, zero] = await Promise.all(reads);
      expect(Buffer.concat([a, b]).equals(data)).toBe(true);
      expect(zero.every((x) => x === 0)).toBe(true);
      await expect(c.blockStatus(0, MiB, BASE_ALLOCATION)).rejects.toThrow(/not negotiated \(negotiated: none\)/);
    } finally {
      await c.disconnect();
    }
    const old = await nbdkit(["--oldstyle", "memory", "size=1M"]);
    await expect(connect(old.uri)).rejects.toThrow(/oldstyle protocol; only fixed newstyle is supported/);
  });

  it("splits requests above the server's maximum block size and reassembles reads", async () => {
    // With error policy, nbdkit answers EINVAL to any request above 64 KiB: splitting is required.
    const server = await nbdkit(
      ["memory", "size=8M", "blocksize-maximum=64K", "blocksize-minimum=512", "blocksize-error-policy=error"],
      ["blocksize-policy"],
    );
    const c = await connect(server.uri);
    try {
      expect(c.blockSize).toEqual({ minimum: 512, preferred: 4096, maximum: 64 * KiB });
      const data = randomBytes(MiB + 512);
      const write = c.write(512, data);
      expect(c.inFlight).toBe(17); // 1 MiB + 512 in 64 KiB pieces
      await write;
      const read = c.read(0, 2 * MiB);
      expect(c.inFlight).toBe(32);
      const got = await read;
      expect(got.subarray(512, 512 + data.length).equals(data)).toBe(true);
      expect(got.subarray(0, 512).every((b) => b === 0)).toBe(true);
      await c.writeZeroes(0, 2 * MiB);
      expect((await c.read(0, 2 * MiB)).every((b) => b === 0)).toBe(true);
    } finally {
      await c.disconnect();
    }
  });

  it("surfaces an injected read error as EIO naming the command, and the connection survives", async () => {
    const trigger = path.join(dir, "fail-reads");
    const server = await nbdkit(
      [
        "memory",
        "size=4M",
        "error-pread=EIO",
        "error-pread-rate=100%",
        `error-pread-file=${trigger}`,
        "error-pwrite=ENOSPC",
        "error-pwrite-rate=100%",
        `error-pwrite-file=${trigger}`,
      ],
      ["error"],
    );
    const c = await connect(server.uri);
    try {
      await c.write(0, Buffer.alloc(4096, 7));
      await writeFile(trigger, "");
      const err = await c.read(4096, 8192).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NbdError);
      expect(err).toMatchObject({ code: "EIO", errno: 5, command: "READ", offset: 4096, length: 8192 });
      expect((err as Error).message).toMatch(/^NBD READ at offset 4096 length 8192 failed with EIO/);
      const full = { code: "ENOSPC", errno: 28, command: "WRITE" };
      await expect(c.write(0, Buffer.alloc(512))).rejects.toMatchObject(full);
      await rm(trigger);
      expect((await c.read(0, 4096)).every((b) => b === 7)).toBe(true);
    } finally {
      await c.disconnect();
    }
  });

  it("times out a slow request, drops its late reply and keeps the connection usable", async () => {
    const server = await nbdkit(["memory", "size=4M", "delay-read=700ms"], ["delay"]);
    const c = await connect(server.uri, { requestTimeoutMs: 150 });
    try {
      await c.write(0, Buffer.alloc(4096, 9));
      const started = Date.now();
      const err = await c.read(0, 4096).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NbdTimeoutError);
      expect((err as Error).message).toMatch(/READ at offset 0 length 4096: request timed out after 150 ms/);
      expect(Date.now() - started).toBeLessThan(600);
      // The late reply of the timed-out read arrives while this one waits; it must be skipped.
      const ok = await c.read(0, 4096, { timeoutMs: 0 });
      expect(ok.every((b) => b === 9)).toBe(true);
      const ac = new AbortController();
      const aborted = c.read(0, 4096, { signal: ac.signal, timeoutMs: 0 });
      ac.abort(new Error("user gave up"));
      await expect(aborted).rejects.toThrow("user gave up");
      expect(c.isOpen).toBe(true);
      expect((await c.read(0, 512, { timeoutMs: 0 })).every((b) => b === 9)).toBe(true);
    } finally {
      await c.disconnect();
    }
  });

  it("gives up every request of one signal at its abort, leaves the others, and lets the signal go", async () => {
    const server = await nbdkit(["memory", "size=4M", "delay-read=300ms"], ["delay"]);
    const c = await connect(server.uri);
    try {
      await c.write(0, Buffer.alloc(8192, 5));
      const stop = new AbortController();
      const other = new AbortController();
      const doomed = Array.from({ length: 5 }, (_, i) => c.read(i * 512, 512, { signal: stop.signal }));
      const kept = c.read(4096, 4096, { signal: other.signal });
      expect(getEventListeners(stop.signal, "abort")).toHaveLength(1); // one for five requests
      stop.abort(new Error("transfer stopped"));
      const results = await Promise.allSettled(doomed);
      expect(results.map((r) => (r.status === "rejected" ? String(r.reason) : "fulfilled"))).toEqual(
        Array(5).fill("Error: transfer stopped"),
      );
      expect((await kept).every((b) => b === 5)).toBe(true);
      // The late replies of the five are read and dropped; once idle, no listener stays behind.
      await waitFor(() => c.inFlight === 0, { timeoutMs: 5000, what: "late replies read" });
      expect(getEventListeners(other.signal, "abort")).toHaveLength(0);
      expect((await c.read(0, 512)).every((b) => b === 5)).toBe(true);
    } finally {
      await c.disconnect();
    }
  });

  it("gives up connecting at the deadline, or when aborted, instead of hanging", async () => {
    const server = await nbdkit(["memory", "size=1M", "delay-open=5"], ["delay"]);
    const started = Date.now();
    await expect(connect(server.uri, { connectTimeoutMs: 300 })).rejects.toBeInstanceOf(NbdTimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
    const ac = new AbortController();
    const pending = connect(server.uri, { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    await expect(connect("nbd://127.0.0.1:1/")).rejects.toThrow(/cannot connect to 127.0.0.1:1: .*ECONNREFUSED/);
  });

  it("fails every pending request at once when the server is killed mid-transfer", async () => {
    const server = await nbdkit(["memory", "size=64M", "delay-read=10"], ["delay"]);
    const c = await connect(server.uri);
    let closeEvent: unknown = "not emitted";
    c.once("close", (e: unknown) => (closeEvent = e));
    const reads = Array.from({ length: 32 }, (_, i) =>
      c.read(i * MiB, MiB).then(
        () => "ok",
        (e: unknown) => e,
      ),
    );
    // All 32 are on the wire: the send queue writes them synchronously while the socket takes them.
    expect(c.inFlight).toBe(32);
    const started = Date.now();
    server.process.kill("SIGKILL");
    const results = await Promise.all(reads);
    expect(Date.now() - started).toBeLessThan(2000);
    for (const r of results) {
      expect(r).toBeInstanceOf(NbdConnectionError);
      const why = /^NBD READ at offset \d+ length 1048576: (connection closed by the server|.*ECONNRESET)/;
      expect((r as Error).message).toMatch(why);
    }
    expect(c.isOpen).toBe(false);
    expect(closeEvent).toBeInstanceOf(NbdConnectionError);
    await expect(c.read(0, 512)).rejects.toBeInstanceOf(NbdConnectionError);
    await c.disconnect(); // already closed: returns at once
  });

  it("fails pending requests quickly when qemu-nbd is killed during a large read", async () => {
    const image = path.join(dir, "kill.raw");
    await writeFile(image, randomBytes(64 * MiB));
    const server = await startQemuNbd(image, { readOnly: true });
    stops.push(server.stop);
    const c = await connect(server.uri);
    const reads = Array.from({ length: 64 }, (_, i) =>
      c.read(i * MiB, MiB).then(
        () => "ok",
        (e: unknown) => e,
      ),
    );
    await Promise.race(reads);
    const started = Date.now();
    server.process.kill("SIGKILL");
    const results = await Promise.all(reads);
    expect(Date.now() - started).toBeLessThan(2000);
    const failed = results.filter((r) => r instanceof NbdConnectionError);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length + results.filter((r) => r === "ok").length).toBe(64);
  });

  it("opens a pool of connections on a multi-conn server and one on a server without it", async () => {
    const server = await nbdkit(["memory", "size=16M"]);
    const pool = await openPool(server.uri, { connections: 4 });
    try {
      expect(pool.clients.length).toBe(4);
      const data = randomBytes(8 * MiB);
      const writes = Array.from({ length: 8 }, (_, i) => pool.write(i * MiB, data.subarray(i * MiB, (i + 1) * MiB)));
      await Promise.all(writes);
      await pool.flush();
      const reads = Array.from({ length: 16 }, (_, i) => pool.read(i * 512 * KiB, 512 * KiB));
      expect(pool.clients.map((cl) => cl.inFlight)).toEqual([4, 4, 4, 4]);
      expect(Buffer.concat(await Promise.all(reads)).equals(data)).toBe(true);
    } finally {
      await pool.disconnect();
    }
    const image = path.join(dir, "single.qcow2");
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", image, "16M"]);
    // qemu-nbd 7.2 advertises multi-conn when it serves more than one client (-e > 1), even
    // read-write; with the default -e 1 it does not.
    const q = await startQemuNbd(image, { format: "qcow2", shared: 1 });
    stops.push(q.stop);
    const single = await openPool(q.uri, { connections: 4 });
    try {
      expect(single.features.canMultiConn).toBe(false);
      expect(single.clients.length).toBe(1);
      await single.write(0, Buffer.alloc(MiB, 1));
      expect((await single.read(0, MiB)).every((b) => b === 1)).toBe(true);
    } finally {
      await single.disconnect();
    }
  });
});
