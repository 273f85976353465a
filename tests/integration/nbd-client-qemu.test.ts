// The NBD client against real qemu-nbd 7.2: raw and qcow2, read-only and read-write, TCP and
// Unix sockets, dirty bitmaps, TLS. Data is checked against the image file and against what
// libnbd's tools (nbdcopy, nbdinfo) and qemu-img see.
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BASE_ALLOCATION,
  NbdError,
  NbdHandshakeError,
  collectExtents,
  connect,
  dirtyBitmapContext,
  dirtyRanges,
  listExports,
  listMetaContexts,
  NBD_STATE_ZERO,
} from "@/lib/nbd/client";
import { makeImage } from "../helpers/images";
import { startQemuNbd, type QemuNbdServer } from "../helpers/qemu-nbd-server";
import { makeX509Dir } from "../helpers/tls-certs";

const KiB = 1024;
const MiB = 1024 * 1024;
let dir: string;
const servers: QemuNbdServer[] = [];

async function serve(...args: Parameters<typeof startQemuNbd>): Promise<QemuNbdServer> {
  const s = await startQemuNbd(...args);
  servers.push(s);
  return s;
}

/** What libnbd's nbdcopy reads from the export, as a Buffer. */
async function viaNbdcopy(uri: string, name: string): Promise<Buffer> {
  const out = path.join(dir, name);
  await execa("nbdcopy", [uri, out], { timeout: 60_000 });
  return readFile(out);
}

type MapEntry = { offset: number; length: number; type: number };
async function nbdinfoMap(uri: string, context: string): Promise<MapEntry[]> {
  const { stdout } = await execa("nbdinfo", [`--map=${context}`, "--json", uri], { timeout: 30_000 });
  return (JSON.parse(stdout) as MapEntry[]).map(({ offset, length, type }) => ({ offset, length, type }));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "nbdc-qemu-"));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

describe("NBD client against qemu-nbd", () => {
  it("reads a raw read-only export over TCP exactly as the file and nbdcopy see it", async () => {
    const image = await makeImage(path.join(dir, "ro.raw"), { sizeMiB: 8, randomMiB: 3 });
    const server = await serve(image, { readOnly: true });
    const c = await connect(server.uri);
    try {
      expect(c.size).toBe(8 * MiB);
      expect(c.structuredReplies).toBe(true);
      expect(c.features).toMatchObject({ readOnly: true, canFlush: true, canTrim: false, canBlockStatus: true });
      expect(c.metaContexts.has(BASE_ALLOCATION)).toBe(true);
      expect(c.blockSize.maximum).toBe(32 * MiB);
      const data = await c.read(0, c.size);
      expect(data.equals(await readFile(image))).toBe(true);
      expect(data.equals(await viaNbdcopy(server.uri, "ro.copy"))).toBe(true);
      const refused = { name: "NbdError", code: "EPERM", command: "WRITE" };
      await expect(c.write(0, Buffer.alloc(512))).rejects.toMatchObject(refused);
    } finally {
      await c.disconnect();
    }
    expect(c.isOpen).toBe(false);
  });

  it("keeps 64 requests in flight on one connection and matches each reply to its request", async () => {
    const image = await makeImage(path.join(dir, "many.raw"), { sizeMiB: 16, randomMiB: 8 });
    const file = await readFile(image);
    const server = await serve(image, { readOnly: true });
    const c = await connect(server.uri);
    try {
      const offsets = Array.from({ length: 64 }, () => Math.floor(Math.random() * (16 * MiB - 64 * KiB)));
      const reads = offsets.map((o, i) => c.read(o, 4 * KiB + i * 512));
      expect(c.inFlight).toBe(64);
      const results = await Promise.all(reads);
      results.forEach((buf, i) => {
        expect(buf.equals(file.subarray(offsets[i], offsets[i] + 4 * KiB + i * 512))).toBe(true);
      });
      expect(c.inFlight).toBe(0);
    } finally {
      await c.disconnect();
    }
  });

  it("writes, reads back, zeroes and trims a qcow2 export over a Unix socket", async () => {
    const image = await makeImage(path.join(dir, "rw.qcow2"), { sizeMiB: 16, randomMiB: 4, format: "qcow2" });
    await execa("qemu-img", ["convert", "-O", "raw", image, path.join(dir, "rw.start")]);
    const expected = await readFile(path.join(dir, "rw.start"));
    // qemu-nbd advertises TRIM but ignores it unless told --discard=unmap.
    const server = await serve(image, { format: "qcow2", unix: true, extraArgs: ["--discard=unmap"] });
    expect(server.uri).toMatch(/^nbd\+unix:\/\/\/\?socket=/);
    const c = await connect(server.uri);
    try {
      expect(c.features).toMatchObject({ readOnly: false, canTrim: true, canWriteZeroes: true, canFua: true });
      const data = randomBytes(MiB + 1000);
      await c.write(3 * MiB + 512, data, { fua: true });
      data.copy(expected, 3 * MiB + 512);
      expect((await c.read(3 * MiB, 2 * MiB)).equals(expected.subarray(3 * MiB, 5 * MiB))).toBe(true);

      await c.writeZeroes(MiB, 2 * MiB);
      expected.fill(0, MiB, 3 * MiB);
      await c.writeZeroes(6 * MiB, MiB, { noHole: true });
      expected.fill(0, 6 * MiB, 7 * MiB);
      expect((await c.read(0, 8 * MiB)).equals(expected.subarray(0, 8 * MiB))).toBe(true);
      // Trimmed data is unspecified; qcow2 without a backing file reads discarded clusters as zeroes.
      await c.trim(4 * MiB + 512 * KiB, 256 * KiB);
      expected.fill(0, 4 * MiB + 512 * KiB, 4 * MiB + 768 * KiB);
      await c.flush();
      expect(await collectExtents(c, BASE_ALLOCATION, 4 * MiB + 512 * KiB, 256 * KiB)).toEqual([
        { offset: 4 * MiB + 512 * KiB, length: 256 * KiB, flags: 3 },
      ]);

      const zeroed = (await collectExtents(c, BASE_ALLOCATION, MiB, 2 * MiB)).every((e) => e.flags & NBD_STATE_ZERO);
      expect(zeroed).toBe(true);
      const all = await c.read(0, c.size);
      expect(all.equals(expected)).toBe(true);
      expect(all.equals(await viaNbdcopy(server.uri, "rw.copy"))).toBe(true);
    } finally {
      await c.disconnect();
    }
    await server.stop();
    await writeFile(path.join(dir, "rw.expected"), expected);
    const cmp = await execa("qemu-img", ["compare", "-f", "raw", "-F", "qcow2", path.join(dir, "rw.expected"), image], {
      reject: false,
    });
    expect(cmp.exitCode, cmp.stdout + cmp.stderr).toBe(0);
  });

  it("lists exactly the extents written since a dirty bitmap was added, like nbdinfo does", async () => {
    const image = path.join(dir, "bitmap.qcow2");
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]);
    await execa("qemu-io", ["-f", "qcow2", "-c", "write -P 0x11 0 8M", image]);
    await execa("qemu-img", ["bitmap", "--add", image, "b0"]);
    // The bitmap's granularity is 64 KiB: writes aligned to it come back exactly.
    const written = [
      { offset: MiB, length: 64 * KiB },
      { offset: 5 * MiB, length: 192 * KiB },
      { offset: 40 * MiB, length: 3 * MiB },
      { offset: 64 * MiB - 64 * KiB, length: 64 * KiB },
    ];
    const cmds = written.flatMap((w) => ["-c", `write -P 0xab ${w.offset} ${w.length}`]);
    await execa("qemu-io", ["-f", "qcow2", ...cmds, image]);

    const server = await serve(image, { format: "qcow2", readOnly: true, bitmap: "b0" });
    expect(await listMetaContexts(server.uri)).toEqual(
      expect.arrayContaining([BASE_ALLOCATION, dirtyBitmapContext("b0")]),
    );
    const context = dirtyBitmapContext("b0");
    const c = await connect(server.uri, { metaContexts: [BASE_ALLOCATION, context] });
    try {
      expect([...c.metaContexts.keys()].sort()).toEqual([BASE_ALLOCATION, context]);
      expect(await dirtyRanges(c, "b0")).toEqual(written);
      // A window that starts and ends inside extents is clamped to the window.
      expect(await collectExtents(c, context, 5 * MiB + 64 * KiB, 64 * KiB)).toEqual([
        { offset: 5 * MiB + 64 * KiB, length: 64 * KiB, flags: 1 },
      ]);
      expect(await collectExtents(c, context, 4 * MiB, 2 * MiB)).toEqual([
        { offset: 4 * MiB, length: MiB, flags: 0 },
        { offset: 5 * MiB, length: 192 * KiB, flags: 1 },
        { offset: 5 * MiB + 192 * KiB, length: MiB - 192 * KiB, flags: 0 },
      ]);
      const asMap = (e: { offset: number; length: number; flags: number }) => ({
        offset: e.offset,
        length: e.length,
        type: e.flags,
      });
      const mine = (await collectExtents(c, context)).map(asMap);
      expect(mine).toEqual(await nbdinfoMap(server.uri, context));
      const alloc = (await collectExtents(c, BASE_ALLOCATION)).map(asMap);
      expect(alloc).toEqual(await nbdinfoMap(server.uri, BASE_ALLOCATION));
      await expect(c.blockStatus(0, MiB, "qemu:dirty-bitmap:nope")).rejects.toThrow(/not negotiated/);
    } finally {
      await c.disconnect();
    }
  });

  it("lists exports, names the export it opens, and refuses an unknown one with the server's reason", async () => {
    const image = await makeImage(path.join(dir, "named.raw"), { sizeMiB: 1, randomMiB: 1 });
    const server = await serve(image, { readOnly: true, exportName: "disk0" });
    expect(await listExports(server.uri)).toEqual([expect.objectContaining({ name: "disk0" })]);
    const c = await connect(server.uri);
    expect(c.exportName).toBe("disk0");
    await c.disconnect();
    const wrong = server.uri.replace(/disk0$/, "nope");
    const err = await connect(wrong).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NbdHandshakeError);
    expect((err as NbdHandshakeError).reply).toBe("ERR_UNKNOWN");
    // qemu checks the name already at SET_META_CONTEXT, before GO.
    expect((err as Error).message).toMatch(/refused with ERR_UNKNOWN: export 'nope' not present/);
  });

  it("enters by name (NBD_OPT_EXPORT_NAME) with what GO gives, and names an unknown export as the likely cause", async () => {
    const image = await makeImage(path.join(dir, "by-name.qcow2"), { sizeMiB: 4, randomMiB: 2, format: "qcow2" });
    const server = await serve(image, { format: "qcow2", exportName: "disk0" });
    const [byGo, byName] = await Promise.all([
      connect(server.uri, { metaContexts: [] }),
      connect(server.uri, { metaContexts: [], enterByName: true }),
    ]);
    try {
      expect(byName.exportName).toBe("disk0");
      expect(byName.size).toBe(byGo.size);
      expect(byName.features).toEqual(byGo.features);
      expect(byName.structuredReplies).toBe(true);
      // No info replies: the protocol's default block sizes stand in for the server's.
      expect(byName.blockSize).toEqual({ minimum: 1, preferred: 4096, maximum: 32 * MiB });
      const data = Buffer.alloc(64 * KiB, 0x5c);
      await byName.write(MiB, data);
      await byName.flush();
      expect((await byGo.read(MiB, data.length)).equals(data)).toBe(true);
      expect((await byName.read(0, MiB)).equals(await byGo.read(0, MiB))).toBe(true);
    } finally {
      await Promise.all([byGo.disconnect(), byName.disconnect()]);
    }
    const wrong = server.uri.replace(/disk0$/, "nope");
    const err = await connect(wrong, { metaContexts: [], enterByName: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NbdHandshakeError);
    expect((err as Error).message).toMatch(
      /closed the connection on NBD_OPT_EXPORT_NAME for export "nope" \(no such export\?\)/,
    );
  });

  it("speaks TLS with a pre-shared key, and fails fast and clearly with a wrong key or none", async () => {
    const key = randomBytes(32).toString("hex");
    const image = await makeImage(path.join(dir, "psk.raw"), { sizeMiB: 2, randomMiB: 1 });
    const server = await serve(image, { readOnly: true, psk: { identity: "nbdhub", key } });
    expect(server.uri).toMatch(/^nbds:/);
    const c = await connect(server.uri, { tls: { psk: { identity: "nbdhub", key } } });
    try {
      expect((await c.read(0, 2 * MiB)).equals(await readFile(image))).toBe(true);
    } finally {
      await c.disconnect();
    }
    const started = Date.now();
    const wrong = await connect(server.uri, { tls: { psk: { identity: "nbdhub", key: randomBytes(32) } } }).catch(
      (e: unknown) => e,
    );
    expect(wrong).toBeInstanceOf(NbdHandshakeError);
    expect((wrong as Error).message).toMatch(/TLS handshake failed.*wrong key or identity/);
    expect(Date.now() - started).toBeLessThan(5000);
    const plain = await connect(server.uri.replace("nbds:", "nbd:")).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(NbdHandshakeError);
    expect((plain as Error).message).toMatch(/ERR_TLS_REQD.*nbds:\/\//);
  });

  it("speaks TLS with X.509 certificates and refuses a server its CA did not sign", async () => {
    const certs = await makeX509Dir(path.join(dir, "x509"));
    const other = await makeX509Dir(path.join(dir, "x509-other"));
    const image = await makeImage(path.join(dir, "x509.raw"), { sizeMiB: 1, randomMiB: 1 });
    const server = await serve(image, { readOnly: true, x509Dir: certs.dir, unix: true });
    const client = { cert: await readFile(certs.clientCert), key: await readFile(certs.clientKey) };
    const c = await connect(server.uri, { tls: { ca: await readFile(certs.caFile), ...client } });
    try {
      expect((await c.read(0, MiB)).equals(await readFile(image))).toBe(true);
    } finally {
      await c.disconnect();
    }
    const otherCa = await readFile(other.caFile);
    const err = await connect(server.uri, { tls: { ca: otherCa, ...client } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NbdHandshakeError);
    expect((err as Error).message).toMatch(/TLS handshake failed: unable to verify/);
    // qemu verifies clients by default: no client certificate, no session.
    const anonymous = await connect(server.uri, { tls: { ca: await readFile(certs.caFile) } }).catch((e: unknown) => e);
    expect(anonymous).toBeInstanceOf(NbdHandshakeError);
  });

  it("refuses a read past the end locally and surfaces server errors as NbdError", async () => {
    const image = await makeImage(path.join(dir, "end.raw"), { sizeMiB: 1, randomMiB: 1 });
    const server = await serve(image, { readOnly: true });
    const c = await connect(server.uri);
    try {
      await expect(c.read(MiB - 512, 1024)).rejects.toThrow(RangeError);
      await expect(c.trim(0, 512)).rejects.toBeInstanceOf(NbdError);
      expect((await c.read(MiB - 512, 512)).length).toBe(512);
    } finally {
      await c.disconnect();
    }
  });
});
