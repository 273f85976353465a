// NBD wire format (NetworkBlockDevice/nbd doc/proto.md): constants and pure encoders/decoders.
// Nothing here touches a socket, so every layout can be unit-tested with Buffers.

export const NBD_MAGIC = 0x4e42444d41474943n; // "NBDMAGIC"
export const NBD_IHAVEOPT = 0x49484156454f5054n; // "IHAVEOPT": newstyle, and every option request
export const NBD_OLDSTYLE_MAGIC = 0x0000420281861253n;
export const NBD_OPTION_REPLY_MAGIC = 0x0003e889045565a9n;
export const NBD_REQUEST_MAGIC = 0x25609513;
export const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
export const NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;

/** Handshake flags (server, 16 bits) and client flags (32 bits). */
export const NBD_FLAG_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_NO_ZEROES = 1 << 1;
export const NBD_FLAG_C_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_C_NO_ZEROES = 1 << 1;

// prettier-ignore
export const NBD_OPT = {
  EXPORT_NAME: 1, ABORT: 2, LIST: 3, STARTTLS: 5, INFO: 6, GO: 7, STRUCTURED_REPLY: 8,
  LIST_META_CONTEXT: 9, SET_META_CONTEXT: 10, EXTENDED_HEADERS: 11,
} as const;

const REP_ERR = 0x80000000;
// prettier-ignore
export const NBD_REP = {
  ACK: 1, SERVER: 2, INFO: 3, META_CONTEXT: 4, ERR_UNSUP: REP_ERR + 1, ERR_POLICY: REP_ERR + 2,
  ERR_INVALID: REP_ERR + 3, ERR_PLATFORM: REP_ERR + 4, ERR_TLS_REQD: REP_ERR + 5,
  ERR_UNKNOWN: REP_ERR + 6, ERR_SHUTDOWN: REP_ERR + 7, ERR_BLOCK_SIZE_REQD: REP_ERR + 8,
  ERR_TOO_BIG: REP_ERR + 9, ERR_EXT_HEADER_REQD: REP_ERR + 10,
} as const;

export const NBD_INFO = { EXPORT: 0, NAME: 1, DESCRIPTION: 2, BLOCK_SIZE: 3 } as const;

/** Transmission flags (16 bits, sent with the export's size). */
// prettier-ignore
export const NBD_FLAG = {
  HAS_FLAGS: 1 << 0, READ_ONLY: 1 << 1, SEND_FLUSH: 1 << 2, SEND_FUA: 1 << 3, ROTATIONAL: 1 << 4,
  SEND_TRIM: 1 << 5, SEND_WRITE_ZEROES: 1 << 6, SEND_DF: 1 << 7, CAN_MULTI_CONN: 1 << 8,
  SEND_RESIZE: 1 << 9, SEND_CACHE: 1 << 10, SEND_FAST_ZERO: 1 << 11, BLOCK_STAT_PAYLOAD: 1 << 12,
} as const;

// prettier-ignore
export const NBD_CMD = {
  READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, CACHE: 5, WRITE_ZEROES: 6, BLOCK_STATUS: 7, RESIZE: 8,
} as const;
export type NbdCommandName = keyof typeof NBD_CMD;

export const NBD_CMD_FLAG = { FUA: 1 << 0, NO_HOLE: 1 << 1, DF: 1 << 2, REQ_ONE: 1 << 3, FAST_ZERO: 1 << 4 } as const;

export const NBD_REPLY_FLAG_DONE = 1 << 0;
// prettier-ignore
export const NBD_REPLY_TYPE = {
  NONE: 0, OFFSET_DATA: 1, OFFSET_HOLE: 2, BLOCK_STATUS: 5, ERROR: (1 << 15) + 1, ERROR_OFFSET: (1 << 15) + 2,
} as const;
export function isErrorChunk(type: number): boolean {
  return (type & (1 << 15)) !== 0;
}

/** base:allocation flags. */
export const NBD_STATE_HOLE = 1 << 0;
export const NBD_STATE_ZERO = 1 << 1;
/** qemu:dirty-bitmap:NAME flag (qemu docs/interop/nbd.txt). */
export const NBD_STATE_DIRTY = 1 << 0;

/** Error numbers on the wire: fixed by the protocol, not the host's errno values. */
// prettier-ignore
export const NBD_ERRNO = {
  EPERM: 1, EIO: 5, ENOMEM: 12, EINVAL: 22, ENOSPC: 28, EOVERFLOW: 75, ENOTSUP: 95, ESHUTDOWN: 108,
} as const;
export type NbdErrnoName = keyof typeof NBD_ERRNO;

function nameOf(table: Record<string, number>, value: number, fallback: string): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return fallback;
}
export function errnoName(errno: number): string {
  return nameOf(NBD_ERRNO, errno, `E#${errno}`);
}
const COMMAND_NAMES = new Map(Object.entries(NBD_CMD).map(([name, v]) => [v as number, name]));
/** Looked up for every request (its error context): a map, not a walk over the table. */
export function commandName(type: number): string {
  return COMMAND_NAMES.get(type) ?? `CMD#${type}`;
}
export function optionName(option: number): string {
  return nameOf(NBD_OPT, option, `OPT#${option}`);
}
export function replyName(reply: number): string {
  return nameOf(NBD_REP, reply, `REP#${reply >>> 0}`);
}
export function isOptionError(reply: number): boolean {
  return (reply & REP_ERR) !== 0;
}

// ---- Handshake ----

/** The first 16 bytes the server sends: "NBDMAGIC" then IHAVEOPT (newstyle) or the oldstyle magic. */
export function decodeGreeting(buf: Buffer): "newstyle" | "oldstyle" {
  if (buf.readBigUInt64BE(0) !== NBD_MAGIC) throw new Error("not an NBD server (no NBDMAGIC)");
  const second = buf.readBigUInt64BE(8);
  if (second === NBD_OLDSTYLE_MAGIC) return "oldstyle";
  if (second !== NBD_IHAVEOPT) throw new Error(`unknown NBD handshake magic 0x${second.toString(16)}`);
  return "newstyle";
}

export function encodeOption(option: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(16);
  header.writeBigUInt64BE(NBD_IHAVEOPT, 0);
  header.writeUInt32BE(option, 8);
  header.writeUInt32BE(data.length, 12);
  return Buffer.concat([header, data]);
}

export type OptionReplyHeader = { option: number; reply: number; length: number };
export const OPTION_REPLY_HEADER_SIZE = 20;
export function decodeOptionReplyHeader(buf: Buffer): OptionReplyHeader {
  const magic = buf.readBigUInt64BE(0);
  if (magic !== NBD_OPTION_REPLY_MAGIC) throw new Error(`bad option reply magic 0x${magic.toString(16)}`);
  return { option: buf.readUInt32BE(8), reply: buf.readUInt32BE(12), length: buf.readUInt32BE(16) };
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** NBD_OPT_GO / NBD_OPT_INFO payload: export name and the NBD_INFO_* items asked for. */
export function encodeGoData(exportName: string, infos: number[]): Buffer {
  const count = Buffer.alloc(2 + 2 * infos.length);
  count.writeUInt16BE(infos.length, 0);
  infos.forEach((info, i) => count.writeUInt16BE(info, 2 + 2 * i));
  return Buffer.concat([lengthPrefixed(exportName), count]);
}

/** NBD_OPT_SET_META_CONTEXT / LIST_META_CONTEXT payload. */
export function encodeMetaContextData(exportName: string, queries: string[]): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(queries.length);
  return Buffer.concat([lengthPrefixed(exportName), count, ...queries.map(lengthPrefixed)]);
}

export type InfoReply =
  | { type: "export"; size: bigint; transmissionFlags: number }
  | { type: "block-size"; minimum: number; preferred: number; maximum: number }
  | { type: "name"; name: string }
  | { type: "description"; description: string }
  | { type: "unknown"; info: number };

export function decodeInfoReply(data: Buffer): InfoReply {
  if (data.length < 2) throw new Error("NBD_REP_INFO shorter than 2 bytes");
  const info = data.readUInt16BE(0);
  switch (info) {
    case NBD_INFO.EXPORT:
      if (data.length !== 12) throw new Error(`NBD_INFO_EXPORT of ${data.length} bytes, expected 12`);
      return { type: "export", size: data.readBigUInt64BE(2), transmissionFlags: data.readUInt16BE(10) };
    case NBD_INFO.BLOCK_SIZE:
      if (data.length !== 14) throw new Error(`NBD_INFO_BLOCK_SIZE of ${data.length} bytes, expected 14`);
      return {
        type: "block-size",
        minimum: data.readUInt32BE(2),
        preferred: data.readUInt32BE(6),
        maximum: data.readUInt32BE(10),
      };
    case NBD_INFO.NAME:
      return { type: "name", name: data.subarray(2).toString("utf8") };
    case NBD_INFO.DESCRIPTION:
      return { type: "description", description: data.subarray(2).toString("utf8") };
    default:
      return { type: "unknown", info };
  }
}

export function decodeMetaContextReply(data: Buffer): { id: number; name: string } {
  if (data.length < 4) throw new Error("NBD_REP_META_CONTEXT shorter than 4 bytes");
  return { id: data.readUInt32BE(0), name: data.subarray(4).toString("utf8") };
}

export function decodeServerReply(data: Buffer): { name: string; description: string } {
  if (data.length < 4) throw new Error("NBD_REP_SERVER shorter than 4 bytes");
  const len = data.readUInt32BE(0);
  if (len > data.length - 4) throw new Error("NBD_REP_SERVER name runs past the reply");
  return { name: data.subarray(4, 4 + len).toString("utf8"), description: data.subarray(4 + len).toString("utf8") };
}

// ---- Transmission ----

export const REQUEST_SIZE = 28;
export type Request = {
  flags: number;
  type: number;
  cookie: bigint | number;
  offset: bigint | number;
  length: number;
};

const TWO_32 = 2 ** 32;
/** A 64-bit big-endian field from a number below 2^53, without a BigInt (one per request adds up). */
export function writeUInt64(buf: Buffer, value: bigint | number, at: number): void {
  if (typeof value === "bigint") {
    buf.writeBigUInt64BE(value, at);
    return;
  }
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a 64-bit unsigned value: ${value}`);
  buf.writeUInt32BE(Math.floor(value / TWO_32), at);
  buf.writeUInt32BE(value % TWO_32, at + 4);
}
/** A 64-bit big-endian field as a number (exact below 2^53: offsets, sizes, our cookies). */
export function readUInt64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

export function encodeRequest(req: Request, into: Buffer = Buffer.allocUnsafe(REQUEST_SIZE)): Buffer {
  into.writeUInt32BE(NBD_REQUEST_MAGIC, 0);
  into.writeUInt16BE(req.flags, 4);
  into.writeUInt16BE(req.type, 6);
  writeUInt64(into, req.cookie, 8);
  writeUInt64(into, req.offset, 16);
  into.writeUInt32BE(req.length, 24);
  return into;
}

export function decodeRequest(buf: Buffer): Request {
  if (buf.readUInt32BE(0) !== NBD_REQUEST_MAGIC) throw new Error("bad request magic");
  return {
    flags: buf.readUInt16BE(4),
    type: buf.readUInt16BE(6),
    cookie: buf.readBigUInt64BE(8),
    offset: buf.readBigUInt64BE(16),
    length: buf.readUInt32BE(24),
  };
}

export const SIMPLE_REPLY_SIZE = 16;
export const STRUCTURED_REPLY_SIZE = 20;
export type SimpleReply = { kind: "simple"; error: number; cookie: bigint };
export type ChunkHeader = { kind: "structured"; flags: number; type: number; cookie: bigint; length: number };

/** Both reply kinds begin with magic and share the first 16 bytes' size; `buf` holds at least 4. */
export function replyKind(buf: Buffer): "simple" | "structured" {
  const magic = buf.readUInt32BE(0);
  if (magic === NBD_SIMPLE_REPLY_MAGIC) return "simple";
  if (magic === NBD_STRUCTURED_REPLY_MAGIC) return "structured";
  throw new Error(`bad reply magic 0x${magic.toString(16)}`);
}
export function decodeSimpleReply(buf: Buffer): SimpleReply {
  return { kind: "simple", error: buf.readUInt32BE(4), cookie: buf.readBigUInt64BE(8) };
}
export function decodeChunkHeader(buf: Buffer): ChunkHeader {
  return {
    kind: "structured",
    flags: buf.readUInt16BE(4),
    type: buf.readUInt16BE(6),
    cookie: buf.readBigUInt64BE(8),
    length: buf.readUInt32BE(16),
  };
}

export type ErrorChunk = { errno: number; message: string; offset?: bigint };
export function decodeErrorChunk(type: number, payload: Buffer): ErrorChunk {
  if (payload.length < 6) throw new Error("error chunk shorter than 6 bytes");
  const errno = payload.readUInt32BE(0);
  const msgLen = payload.readUInt16BE(4);
  if (6 + msgLen > payload.length) throw new Error("error chunk message runs past the chunk");
  const message = payload.subarray(6, 6 + msgLen).toString("utf8");
  if (type === NBD_REPLY_TYPE.ERROR_OFFSET) {
    if (payload.length !== 6 + msgLen + 8) throw new Error("NBD_REPLY_TYPE_ERROR_OFFSET of wrong length");
    return { errno, message, offset: payload.readBigUInt64BE(6 + msgLen) };
  }
  return { errno, message };
}

export type Extent = { length: number; flags: number };
export function decodeBlockStatusChunk(payload: Buffer): { contextId: number; extents: Extent[] } {
  if (payload.length < 12 || (payload.length - 4) % 8 !== 0) {
    throw new Error(`NBD_REPLY_TYPE_BLOCK_STATUS of ${payload.length} bytes is not 4 + 8n (n > 0)`);
  }
  const extents: Extent[] = [];
  for (let p = 4; p < payload.length; p += 8) {
    extents.push({ length: payload.readUInt32BE(p), flags: payload.readUInt32BE(p + 4) });
  }
  return { contextId: payload.readUInt32BE(0), extents };
}

export function encodeOptionReply(option: number, reply: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(OPTION_REPLY_HEADER_SIZE);
  header.writeBigUInt64BE(NBD_OPTION_REPLY_MAGIC, 0);
  header.writeUInt32BE(option, 8);
  header.writeUInt32BE(reply >>> 0, 12);
  header.writeUInt32BE(data.length, 16);
  return Buffer.concat([header, data]);
}

/** Encoders for the server side of replies: used by unit tests, and by nothing on the client path. */
export function encodeSimpleReply(error: number, cookie: bigint): Buffer {
  const buf = Buffer.alloc(SIMPLE_REPLY_SIZE);
  buf.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
  buf.writeUInt32BE(error, 4);
  buf.writeBigUInt64BE(cookie, 8);
  return buf;
}
export function encodeChunk(flags: number, type: number, cookie: bigint, payload: Buffer): Buffer {
  const buf = Buffer.alloc(STRUCTURED_REPLY_SIZE);
  buf.writeUInt32BE(NBD_STRUCTURED_REPLY_MAGIC, 0);
  buf.writeUInt16BE(flags, 4);
  buf.writeUInt16BE(type, 6);
  buf.writeBigUInt64BE(cookie, 8);
  buf.writeUInt32BE(payload.length, 16);
  return Buffer.concat([buf, payload]);
}
