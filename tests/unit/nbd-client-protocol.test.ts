import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ByteReader } from "@/lib/nbd/client/byte-reader";
import { clampExtents, mergeExtents } from "@/lib/nbd/client/block-status";
import { NbdError } from "@/lib/nbd/client/errors";
import { DEFAULT_MAX_BLOCK_SIZE, normaliseBlockSize } from "@/lib/nbd/client/handshake";
import {
  NBD_CMD,
  NBD_CMD_FLAG,
  NBD_INFO,
  NBD_OPT,
  NBD_REP,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE,
  decodeBlockStatusChunk,
  decodeChunkHeader,
  decodeErrorChunk,
  decodeGreeting,
  decodeInfoReply,
  decodeMetaContextReply,
  decodeOptionReplyHeader,
  decodeRequest,
  decodeServerReply,
  decodeSimpleReply,
  encodeChunk,
  encodeGoData,
  encodeMetaContextData,
  encodeOption,
  encodeOptionReply,
  encodeRequest,
  encodeSimpleReply,
  errnoName,
  replyKind,
  replyName,
} from "@/lib/nbd/client/protocol";
import { normaliseRanges, splitRange } from "@/lib/nbd/client/ranges";
import { canonicalNbdUri, parseNbdUri } from "@/lib/nbd/uri";

const hex = (b: Buffer) => b.toString("hex");

describe("NBD handshake encoding", () => {
  it("tells newstyle from oldstyle and rejects other servers", () => {
    expect(decodeGreeting(Buffer.from("4e42444d41474943" + "49484156454f5054", "hex"))).toBe("newstyle");
    expect(decodeGreeting(Buffer.from("4e42444d41474943" + "0000420281861253", "hex"))).toBe("oldstyle");
    expect(() => decodeGreeting(Buffer.from("HTTP/1.1 400 Bad!", "latin1"))).toThrow(/not an NBD server/);
  });

  it("encodes an option with the IHAVEOPT magic and a length", () => {
    expect(hex(encodeOption(NBD_OPT.STRUCTURED_REPLY))).toBe("49484156454f5054" + "00000008" + "00000000");
    const list = encodeOption(NBD_OPT.LIST, Buffer.from([1, 2]));
    expect(hex(list)).toBe("49484156454f5054" + "00000003" + "00000002" + "0102");
  });

  it("encodes GO with the export name and info requests", () => {
    const go = encodeGoData("ab", [NBD_INFO.EXPORT, NBD_INFO.BLOCK_SIZE]);
    expect(hex(go)).toBe("00000002" + "6162" + "0002" + "0000" + "0003");
  });

  it("encodes SET_META_CONTEXT queries", () => {
    expect(hex(encodeMetaContextData("", ["base:allocation"]))).toBe(
      "00000000" + "00000001" + "0000000f" + Buffer.from("base:allocation").toString("hex"),
    );
  });

  it("decodes option replies, INFO, META_CONTEXT and SERVER payloads", () => {
    const reply = encodeOptionReply(NBD_OPT.GO, NBD_REP.ERR_UNKNOWN, Buffer.from("no"));
    expect(decodeOptionReplyHeader(reply)).toEqual({ option: NBD_OPT.GO, reply: NBD_REP.ERR_UNKNOWN, length: 2 });
    expect(replyName(NBD_REP.ERR_TLS_REQD)).toBe("ERR_TLS_REQD");
    expect(() => decodeOptionReplyHeader(Buffer.alloc(20))).toThrow(/magic/);

    const exp = Buffer.alloc(12);
    exp.writeUInt16BE(NBD_INFO.EXPORT, 0);
    exp.writeBigUInt64BE(1n << 40n, 2);
    exp.writeUInt16BE(0x1ef, 10);
    expect(decodeInfoReply(exp)).toEqual({ type: "export", size: 1n << 40n, transmissionFlags: 0x1ef });
    const bs = Buffer.alloc(14);
    bs.writeUInt16BE(NBD_INFO.BLOCK_SIZE, 0);
    bs.writeUInt32BE(512, 2);
    bs.writeUInt32BE(4096, 6);
    bs.writeUInt32BE(65536, 10);
    expect(decodeInfoReply(bs)).toEqual({ type: "block-size", minimum: 512, preferred: 4096, maximum: 65536 });
    expect(() => decodeInfoReply(exp.subarray(0, 11))).toThrow(/expected 12/);

    const meta = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from("qemu:dirty-bitmap:b0")]);
    expect(decodeMetaContextReply(meta)).toEqual({ id: 7, name: "qemu:dirty-bitmap:b0" });
    const server = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from("vdaa disk")]);
    expect(decodeServerReply(server)).toEqual({ name: "vda", description: "a disk" });
  });
});

describe("NBD transmission encoding", () => {
  it("lays out a 28-byte request", () => {
    const cookie = 0x0102030405060708n;
    const req = { flags: NBD_CMD_FLAG.FUA, type: NBD_CMD.WRITE, cookie, offset: 2 ** 40, length: 4096 };
    const buf = encodeRequest(req);
    expect(hex(buf)).toBe("25609513" + "0001" + "0001" + "0102030405060708" + "0000010000000000" + "00001000");
    expect(decodeRequest(buf)).toEqual({ ...req, offset: 2n ** 40n });
  });

  it("decodes simple and structured reply headers", () => {
    const simple = encodeSimpleReply(5, 9n);
    expect(replyKind(simple)).toBe("simple");
    expect(decodeSimpleReply(simple)).toEqual({ kind: "simple", error: 5, cookie: 9n });
    const chunk = encodeChunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE.OFFSET_DATA, 3n, Buffer.alloc(12));
    expect(replyKind(chunk)).toBe("structured");
    expect(decodeChunkHeader(chunk)).toEqual({ kind: "structured", flags: 1, type: 1, cookie: 3n, length: 12 });
    expect(() => replyKind(Buffer.alloc(16))).toThrow(/bad reply magic/);
  });

  it("decodes error chunks with and without offset", () => {
    const msg = Buffer.from("boom");
    const head = Buffer.alloc(6);
    head.writeUInt32BE(28, 0);
    head.writeUInt16BE(msg.length, 4);
    expect(decodeErrorChunk(NBD_REPLY_TYPE.ERROR, Buffer.concat([head, msg]))).toEqual({ errno: 28, message: "boom" });
    const off = Buffer.alloc(8);
    off.writeBigUInt64BE(4096n);
    expect(decodeErrorChunk(NBD_REPLY_TYPE.ERROR_OFFSET, Buffer.concat([head, msg, off]))).toEqual({
      errno: 28,
      message: "boom",
      offset: 4096n,
    });
    expect(() => decodeErrorChunk(NBD_REPLY_TYPE.ERROR, head.subarray(0, 4))).toThrow();
  });

  it("decodes block status descriptors and refuses malformed ones", () => {
    const p = Buffer.alloc(4 + 16);
    p.writeUInt32BE(2, 0);
    p.writeUInt32BE(65536, 4);
    p.writeUInt32BE(3, 8);
    p.writeUInt32BE(4096, 12);
    p.writeUInt32BE(0, 16);
    expect(decodeBlockStatusChunk(p)).toEqual({
      contextId: 2,
      extents: [
        { length: 65536, flags: 3 },
        { length: 4096, flags: 0 },
      ],
    });
    expect(() => decodeBlockStatusChunk(p.subarray(0, 10))).toThrow();
    expect(() => decodeBlockStatusChunk(p.subarray(0, 4))).toThrow();
  });

  it("names wire error numbers and builds NbdError messages", () => {
    expect([errnoName(1), errnoName(5), errnoName(28), errnoName(22), errnoName(108), errnoName(999)]).toEqual([
      "EPERM",
      "EIO",
      "ENOSPC",
      "EINVAL",
      "ESHUTDOWN",
      "E#999",
    ]);
    const e = new NbdError(5, { command: "READ", offset: 4096, length: 512 }, "disk on fire");
    expect(e).toMatchObject({ code: "EIO", errno: 5, command: "READ", offset: 4096, length: 512 });
    expect(e.message).toBe("NBD READ at offset 4096 length 512 failed with EIO: disk on fire");
  });
});

describe("NBD URIs", () => {
  it("parses TCP URIs with default port, export names and IPv6", () => {
    expect(parseNbdUri("nbd://example.com/disk0")).toEqual({
      transport: "tcp",
      host: "example.com",
      port: 10809,
      exportName: "disk0",
      tls: false,
    });
    expect(parseNbdUri("nbds://10.0.0.1:10900")).toMatchObject({ port: 10900, exportName: "", tls: true });
    expect(parseNbdUri("nbd://[::1]:2000/a%20b/c")).toMatchObject({ host: "::1", port: 2000, exportName: "a b/c" });
  });

  it("parses unix URIs and requires socket=", () => {
    expect(parseNbdUri("nbd+unix:///vda?socket=/run/nbd.sock")).toEqual({
      transport: "unix",
      socket: "/run/nbd.sock",
      exportName: "vda",
      tls: false,
    });
    expect(parseNbdUri("nbds+unix://?socket=/s")).toMatchObject({ exportName: "", tls: true });
    expect(() => parseNbdUri("nbd+unix:///vda")).toThrow(/socket=/);
    expect(() => parseNbdUri("nbd+unix://host/vda?socket=/s")).toThrow(/names no host/);
  });

  it("refuses other schemes, file-naming parameters and socket= on TCP", () => {
    expect(() => parseNbdUri("http://x/")).toThrow(/scheme/);
    expect(() => parseNbdUri("nbds://h/?tls-psk-file=/etc/shadow")).toThrow(/tls-psk-file/);
    expect(() => parseNbdUri("nbd://h/?socket=/s")).toThrow(/socket=/);
    expect(() => parseNbdUri("nbd://user@h/")).toThrow(/user/);
    expect(() => parseNbdUri("nbd://[::1/x")).toThrow(/not a valid NBD URI/);
  });

  it("formats what it parses", () => {
    for (const uri of ["nbd://127.0.0.1:10809/disk%200", "nbds+unix:///x?socket=%2Frun%2Fs", "nbd://[::1]:10/"]) {
      expect(parseNbdUri(canonicalNbdUri(parseNbdUri(uri)))).toEqual(parseNbdUri(uri));
    }
  });
});

describe("extents and ranges", () => {
  it("clamps extents to the asked range and drops those outside", () => {
    const got = clampExtents(
      [
        { offset: 0, length: 100, flags: 0 },
        { offset: 100, length: 100, flags: 3 },
        { offset: 200, length: 1000, flags: 0 },
      ],
      50,
      200,
    );
    expect(got).toEqual([
      { offset: 50, length: 50, flags: 0 },
      { offset: 100, length: 100, flags: 3 },
      { offset: 200, length: 50, flags: 0 },
    ]);
    expect(clampExtents([{ offset: 0, length: 10, flags: 0 }], 10, 5)).toEqual([]);
  });

  it("merges adjacent extents with equal flags only", () => {
    expect(
      mergeExtents([
        { offset: 0, length: 10, flags: 1 },
        { offset: 10, length: 5, flags: 1 },
        { offset: 15, length: 5, flags: 0 },
        { offset: 30, length: 5, flags: 0 },
      ]),
    ).toEqual([
      { offset: 0, length: 15, flags: 1 },
      { offset: 15, length: 5, flags: 0 },
      { offset: 30, length: 5, flags: 0 },
    ]);
  });

  it("splits ranges into pieces and normalises range lists", () => {
    expect(splitRange(10, 25, 10)).toEqual([
      { offset: 10, length: 10 },
      { offset: 20, length: 10 },
      { offset: 30, length: 5 },
    ]);
    expect(splitRange(0, 0, 10)).toEqual([]);
    expect(
      normaliseRanges([
        { offset: 20, length: 5 },
        { offset: 0, length: 10 },
        { offset: 10, length: 5 },
        { offset: 40, length: 0 },
      ]),
    ).toEqual([
      { offset: 0, length: 15 },
      { offset: 20, length: 5 },
    ]);
    expect(() =>
      normaliseRanges([
        { offset: 0, length: 10 },
        { offset: 5, length: 10 },
      ]),
    ).toThrow(/overlap/);
  });

  it("defaults the maximum block size to 32 MiB when the server states none", () => {
    expect(normaliseBlockSize()).toEqual({ minimum: 1, preferred: 4096, maximum: DEFAULT_MAX_BLOCK_SIZE });
    expect(DEFAULT_MAX_BLOCK_SIZE).toBe(32 * 1024 * 1024);
    expect(normaliseBlockSize({ minimum: 512, preferred: 65536, maximum: 0xffffffff })).toEqual({
      minimum: 512,
      preferred: 65536,
      maximum: 0xffffffff,
    });
  });
});

describe("ByteReader", () => {
  it("returns exact lengths across chunk boundaries and reads straight into a buffer", async () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream);
    stream.write(Buffer.from([1, 2, 3]));
    const first = reader.read(2);
    expect([...(await first)]).toEqual([1, 2]);
    const pending = reader.read(4);
    stream.write(Buffer.from([4, 5]));
    stream.write(Buffer.from([6, 7]));
    expect([...(await pending)]).toEqual([3, 4, 5, 6]);
    const target = Buffer.alloc(5);
    const into = reader.readInto(target, 1, 4);
    stream.write(Buffer.from([8, 9, 10, 11, 12]));
    await into;
    expect([...target]).toEqual([0, 7, 8, 9, 10]);
    expect([...(await reader.read(2))]).toEqual([11, 12]);
  });

  it("fails a read that cannot complete when the stream ends", async () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream);
    const pending = reader.read(8);
    stream.end(Buffer.from([1, 2]));
    await expect(pending).rejects.toThrow(/closed by the server/);
  });

  it("keeps bytes fed from a reused socket buffer only as copies once the feed returns", async () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream, { fed: true });
    const shared = Buffer.from([1, 2, 3, 4, 5, 6]);
    const first = reader.read(2);
    reader.feed(5, shared); // 1..5: [1, 2] answer the read, [3, 4, 5] stay buffered
    const got = await first;
    shared.fill(0); // the socket reads its next bytes into the same buffer
    expect([...got]).toEqual([1, 2]);
    expect([...(await reader.read(3))]).toEqual([3, 4, 5]);
    stream.write(Buffer.from([9])); // 'data' is not listened to when fed
    expect(reader.available).toBe(0);
  });

  it("hands arrivals to a consumer synchronously, which takes whole parts or streams into a buffer", () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream, { fed: true });
    const shared = Buffer.alloc(16);
    const seen: number[][] = [];
    const target = Buffer.alloc(4);
    let streamed = 0;
    let ended: unknown = null;
    reader.feed(shared.write("\x01\x02", "latin1"), shared); // there before consume(): offered at once
    reader.consume({
      onData: () => {
        if (seen.length === 0) {
          const head = reader.readSync(3);
          if (!head) return;
          seen.push([...head]);
        }
        streamed += reader.copyInto(target, streamed, target.length - streamed);
      },
      onEnd: (error) => (ended = error),
    });
    expect(seen).toEqual([]); // 2 of 3 bytes: nothing taken
    Buffer.from([3, 10, 11]).copy(shared);
    reader.feed(3, shared);
    expect(seen).toEqual([[1, 2, 3]]);
    expect(streamed).toBe(2);
    Buffer.from([12, 13, 14]).copy(shared);
    reader.feed(3, shared);
    expect([...target]).toEqual([10, 11, 12, 13]);
    expect(reader.available).toBe(1); // 14 waits, copied out of the reused buffer
    shared.fill(0);
    expect(reader.discard(5)).toBe(1);
    stream.emit("close");
    expect(ended).toBeInstanceOf(Error);
    expect(String(ended)).toMatch(/closed by the server/);
  });
});
