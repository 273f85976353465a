// One NBD connection in the transmission phase. Requests are matched to replies by cookie, so
// any number may be in flight; a single reply loop reads the socket, and a send queue writes
// each request with its payload whole (never interleaved), the requests of one turn in one
// corked write, and waits for 'drain' when the socket's buffer is full. A connection that
// breaks fails every request still waiting.
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import type { ByteReader } from "./byte-reader";
import { NbdConnectionError, NbdError, NbdTimeoutError, abortReason, type CommandContext } from "./errors";
import {
  featuresOf,
  type BlockExtent,
  type NbdDevice,
  type NbdFeatures,
  type RequestOptions,
  type WriteOptions,
  type ZeroOptions,
} from "./features";
import type { BlockSize, ExportInfo } from "./handshake";
import {
  NBD_CMD,
  NBD_CMD_FLAG,
  NBD_ERRNO,
  NBD_REPLY_FLAG_DONE,
  NBD_REPLY_TYPE,
  REQUEST_SIZE,
  SIMPLE_REPLY_SIZE,
  STRUCTURED_REPLY_SIZE,
  commandName,
  decodeBlockStatusChunk,
  decodeErrorChunk,
  encodeRequest,
  isErrorChunk,
  readUInt64,
  replyKind,
  type Extent,
} from "./protocol";
import { alignDown, checkRange, splitRange } from "./ranges";

/** Largest read or write put in one request, whatever the server allows: bounds each buffer. */
export const MAX_DATA_REQUEST = 32 * 1024 * 1024;
/** Largest trim/zero/block-status request: a 32-bit length, kept well clear of 4 GiB. */
export const MAX_NODATA_REQUEST = 1024 * 1024 * 1024;
/** Bytes of requests put in one corked write before the socket's buffer is looked at again. */
const MAX_WRITE_BATCH = 8 * 1024 * 1024;
/** Signals with no request left keep their listener until the connection is idle, up to this many. */
const MAX_IDLE_SIGNALS = 8;
/** Non-data chunk payloads (block status, errors) bigger than this are a broken server. */
const MAX_CHUNK_PAYLOAD = 64 * 1024 * 1024;

export type ClientOptions = {
  /** Default per-request timeout in ms; 0 (the default) waits as long as the connection lives. */
  requestTimeoutMs?: number;
  /** Cap on one read/write request, below the server's maximum block size. */
  maxDataRequest?: number;
};

type Pending = {
  cookie: number;
  type: number;
  ctx: CommandContext;
  offset: number;
  length: number;
  readBuf?: Buffer;
  covered: number;
  status?: Map<number, Extent[]>;
  error?: Error;
  /** The caller has its answer (or gave up): a late reply is read and dropped. */
  settled: boolean;
  /** Still in the send queue: giving up removes it without touching the wire. */
  unsent: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  timer: NodeJS.Timeout | undefined;
};
type Outgoing = { header: Buffer; payload?: Buffer; pending?: Pending };

/** Where the reply loop stands: what the next bytes are. */
const Phase = {
  /** The first 16 bytes of a reply (a whole simple reply). */
  Head: 0,
  /** The last 4 bytes of a structured reply's chunk header. */
  ChunkTail: 1,
  /** OFFSET_DATA's offset, then its data is streamed. */
  DataOffset: 2,
  /** A chunk's whole payload (hole, block status, error). */
  Payload: 3,
  /** Read data going into the request's buffer (or dropped). */
  Stream: 4,
} as const;
type Phase = (typeof Phase)[keyof typeof Phase];
export class NbdClient extends EventEmitter implements NbdDevice {
  readonly exportName: string;
  readonly size: number;
  readonly transmissionFlags: number;
  readonly blockSize: BlockSize;
  readonly blockSizeAdvertised: boolean;
  readonly structuredReplies: boolean;
  readonly metaContexts: ReadonlyMap<string, number>;
  readonly features: NbdFeatures;

  private readonly socket: Duplex;
  private readonly reader: ByteReader;
  private readonly pending = new Map<number, Pending>();
  private sendQueue: Outgoing[] = [];
  private waitingDrain = false;
  private pumpQueued = false;
  private nextCookie = 1;
  private failure: NbdConnectionError | null = null;
  private closing = false;
  private idleWaiters: (() => void)[] = [];
  private readonly requestTimeoutMs: number;
  private readonly maxData: number;
  private readonly maxNoData: number;
  private readonly contextNames = new Map<number, string>();
  private readonly watched = new Map<AbortSignal, { requests: Set<Pending>; onAbort: () => void }>();
  readonly closed: Promise<void>;
  // The reply loop's state (onReplyBytes).
  private readonly head = Buffer.alloc(STRUCTURED_REPLY_SIZE);
  private phase: Phase = Phase.Head;
  private need = SIMPLE_REPLY_SIZE;
  private current: Pending | null = null;
  private chunkFlags = 0;
  private chunkType = 0;
  private chunkLength = 0;
  private streamStart = 0;
  private streamAt = 0;
  private streamLeft = 0;

  constructor(socket: Duplex, reader: ByteReader, info: ExportInfo, options: ClientOptions = {}) {
    super();
    this.socket = socket;
    this.reader = reader;
    this.exportName = info.exportName;
    this.size = info.size;
    this.transmissionFlags = info.transmissionFlags;
    this.blockSize = info.blockSize;
    this.blockSizeAdvertised = info.blockSizeAdvertised;
    this.structuredReplies = info.structuredReplies;
    this.metaContexts = info.metaContexts;
    for (const [name, id] of info.metaContexts) this.contextNames.set(id, name);
    this.features = featuresOf(info.transmissionFlags, info.structuredReplies && info.metaContexts.size > 0);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 0;
    const min = info.blockSize.minimum;
    this.maxData = alignDown(Math.min(info.blockSize.maximum, options.maxDataRequest ?? MAX_DATA_REQUEST), min);
    this.maxNoData = alignDown(Math.max(MAX_NODATA_REQUEST, this.maxData), min);
    this.closed = new Promise((resolve) => this.once("close", () => resolve()));
    // Errors reach the reply loop through the reader; this keeps Node from treating them as unhandled.
    socket.on("error", () => undefined);
    reader.consume({ onData: () => this.onReplyBytes(), onEnd: (error) => this.fail(error) });
  }

  /** Requests sent or queued and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }
  get isOpen(): boolean {
    return !this.failure && !this.closing;
  }
  /** Why the connection ended, once it has. */
  get closeReason(): Error | null {
    return this.failure;
  }

  // ---- commands ----

  async read(offset: number, length: number, options: RequestOptions = {}): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    await this.readInto(offset, buf, options);
    return buf;
  }

  async readInto(offset: number, target: Buffer, options: RequestOptions = {}): Promise<void> {
    checkRange(offset, target.length, this.size, "read");
    // One request (the usual case): no list of pieces, no Promise.all. Nothing sent for 0 bytes.
    if (target.length > 0 && target.length <= this.maxData) {
      return this.request(NBD_CMD.READ, 0, offset, target.length, options, { readBuf: target });
    }
    await Promise.all(
      splitRange(offset, target.length, this.maxData).map((r) =>
        this.request(NBD_CMD.READ, 0, r.offset, r.length, options, {
          readBuf: target.subarray(r.offset - offset, r.offset - offset + r.length),
        }),
      ),
    );
  }

  async write(offset: number, data: Buffer, options: WriteOptions = {}): Promise<void> {
    checkRange(offset, data.length, this.size, "write");
    this.requireWritable("WRITE", offset, data.length);
    // Without FUA support the same guarantee comes from a flush after the writes.
    const fua = options.fua && this.features.canFua ? NBD_CMD_FLAG.FUA : 0;
    if (data.length > 0 && data.length <= this.maxData) {
      await this.request(NBD_CMD.WRITE, fua, offset, data.length, options, { payload: data });
    } else {
      await Promise.all(
        splitRange(offset, data.length, this.maxData).map((r) =>
          this.request(NBD_CMD.WRITE, fua, r.offset, r.length, options, {
            payload: data.subarray(r.offset - offset, r.offset - offset + r.length),
          }),
        ),
      );
    }
    if (options.fua && !fua && this.features.canFlush) await this.flush(options);
  }

  async writeZeroes(offset: number, length: number, options: ZeroOptions = {}): Promise<void> {
    checkRange(offset, length, this.size, "writeZeroes");
    this.requireWritable("WRITE_ZEROES", offset, length);
    if (!this.features.canWriteZeroes) {
      throw this.unsupported("WRITE_ZEROES", "NBD_FLAG_SEND_WRITE_ZEROES", offset, length);
    }
    if (options.fastZero && !this.features.canFastZero) {
      throw this.unsupported("WRITE_ZEROES", "NBD_FLAG_SEND_FAST_ZERO", offset, length);
    }
    let flags = options.noHole ? NBD_CMD_FLAG.NO_HOLE : 0;
    if (options.fastZero) flags |= NBD_CMD_FLAG.FAST_ZERO;
    const fua = options.fua && this.features.canFua;
    if (fua) flags |= NBD_CMD_FLAG.FUA;
    await this.noDataCommand(NBD_CMD.WRITE_ZEROES, flags, offset, length, options);
    if (options.fua && !fua && this.features.canFlush) await this.flush(options);
  }

  async trim(offset: number, length: number, options: WriteOptions = {}): Promise<void> {
    checkRange(offset, length, this.size, "trim");
    this.requireWritable("TRIM", offset, length);
    if (!this.features.canTrim) throw this.unsupported("TRIM", "NBD_FLAG_SEND_TRIM", offset, length);
    const fua = options.fua && this.features.canFua;
    await this.noDataCommand(NBD_CMD.TRIM, fua ? NBD_CMD_FLAG.FUA : 0, offset, length, options);
    if (options.fua && !fua && this.features.canFlush) await this.flush(options);
  }

  /** A no-op when the server does not advertise flush (it has no cache to flush). */
  async flush(options: RequestOptions = {}): Promise<void> {
    if (!this.features.canFlush) return;
    await this.request(NBD_CMD.FLUSH, 0, 0, 0, options, {});
  }

  async blockStatus(
    offset: number,
    length: number,
    context: string,
    options: RequestOptions = {},
  ): Promise<BlockExtent[]> {
    checkRange(offset, length, this.size, "blockStatus");
    const id = this.metaContexts.get(context);
    if (id === undefined) {
      const have = [...this.metaContexts.keys()].join(", ") || "none";
      throw new Error(`meta context ${JSON.stringify(context)} was not negotiated (negotiated: ${have})`);
    }
    if (length === 0) return [];
    const asked = Math.min(length, this.maxNoData);
    const status = new Map<number, Extent[]>();
    await this.request(NBD_CMD.BLOCK_STATUS, 0, offset, asked, options, { status });
    const extents = status.get(id);
    if (!extents) {
      const ctx = this.ctx(NBD_CMD.BLOCK_STATUS, offset, asked);
      throw new NbdConnectionError(`server sent no extents for ${context}`, ctx);
    }
    let at = offset;
    return extents.map((e) => {
      const out = { offset: at, length: e.length, flags: e.flags };
      at += e.length;
      return out;
    });
  }

  /** NBD_CMD_DISC after the requests in flight are answered, then close. Never throws. */
  async disconnect({ timeoutMs = 10_000 }: { timeoutMs?: number } = {}): Promise<void> {
    if (this.failure || this.closing) return this.closed;
    this.closing = true;
    const timer = setTimeout(() => this.fail(new Error(`disconnect took over ${timeoutMs} ms`)), timeoutMs);
    try {
      if (this.pending.size) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      if (!this.failure) {
        const header = encodeRequest({ flags: 0, type: NBD_CMD.DISC, cookie: this.nextCookie++, offset: 0, length: 0 });
        // Sent now, not on the next tick: end() follows.
        this.sendQueue.push({ header });
        if (!this.waitingDrain) this.pump();
        this.socket.end();
      }
      await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops the connection now; requests in flight fail. */
  close(): void {
    this.closing = true;
    this.fail(new Error("connection closed by the client"));
  }

  // ---- machinery ----

  private ctx(type: number, offset?: number, length?: number): CommandContext {
    return type === NBD_CMD.FLUSH ? { command: "FLUSH" } : { command: commandName(type), offset, length };
  }

  private requireWritable(command: string, offset: number, length: number): void {
    if (this.features.readOnly) {
      throw new NbdError(NBD_ERRNO.EPERM, { command, offset, length }, "the export is read-only (not sent)");
    }
  }

  private unsupported(command: string, flag: string, offset: number, length: number): NbdError {
    const why = `the server does not advertise ${flag} (not sent)`;
    return new NbdError(NBD_ERRNO.ENOTSUP, { command, offset, length }, why);
  }

  private async noDataCommand(type: number, flags: number, offset: number, length: number, options: RequestOptions) {
    await Promise.all(
      splitRange(offset, length, this.maxNoData).map((r) => this.request(type, flags, r.offset, r.length, options, {})),
    );
  }

  private request(
    type: number,
    flags: number,
    offset: number,
    length: number,
    options: RequestOptions,
    extra: { payload?: Buffer; readBuf?: Buffer; status?: Map<number, Extent[]> },
  ): Promise<void> {
    const ctx = this.ctx(type, offset, length);
    if (this.failure) return Promise.reject(new NbdConnectionError(this.failure.message, ctx, { cause: this.failure }));
    if (this.closing) return Promise.reject(new NbdConnectionError("the client is disconnecting", ctx));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const cookie = this.nextCookie++;
      const p: Pending = {
        cookie,
        type,
        ctx,
        offset,
        length,
        readBuf: extra.readBuf,
        status: extra.status,
        covered: 0,
        settled: false,
        unsent: true,
        resolve,
        reject,
        signal,
        timer: undefined,
      };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => this.giveUp(p, new NbdTimeoutError("request", timeoutMs, ctx)), timeoutMs);
      }
      if (signal) this.watch(signal, p);
      this.pending.set(cookie, p);
      const header = encodeRequest({ flags, type, cookie, offset, length }, Buffer.allocUnsafe(REQUEST_SIZE));
      this.enqueue({ header, payload: extra.payload, pending: p });
    });
  }

  /**
   * One 'abort' listener per signal while requests carry it, not one per request: a transfer's
   * workers pass the same stop signal to every request, and an EventTarget listener added and
   * removed per request showed in profiles. The listeners go when the connection is idle.
   */
  private watch(signal: AbortSignal, p: Pending): void {
    let watch = this.watched.get(signal);
    if (!watch) {
      const requests = new Set<Pending>();
      const onAbort = () => {
        for (const q of [...requests]) this.giveUp(q, abortReason(signal));
      };
      watch = { requests, onAbort };
      this.watched.set(signal, watch);
      signal.addEventListener("abort", onAbort, { once: true });
    }
    watch.requests.add(p);
  }

  /** The request's timer and signal are let go (it is answered, given up or failed). */
  private release(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    if (!p.signal) return;
    const watch = this.watched.get(p.signal);
    watch?.requests.delete(p);
    // Many signals on a connection that is never idle: the unused ones go at once.
    if (watch && watch.requests.size === 0 && this.watched.size > MAX_IDLE_SIGNALS) this.unwatch(p.signal);
  }

  private unwatch(signal: AbortSignal): void {
    const watch = this.watched.get(signal);
    if (!watch) return;
    signal.removeEventListener("abort", watch.onAbort);
    this.watched.delete(signal);
  }

  /** Timeout or abort: the caller is answered now; a sent request's reply is still awaited and dropped. */
  private giveUp(p: Pending, reason: unknown): void {
    if (p.settled) return;
    p.settled = true;
    this.release(p);
    if (p.unsent) this.forget(p);
    p.reject(reason);
  }

  private forget(p: Pending): void {
    this.pending.delete(p.cookie);
    if (this.pending.size === 0) {
      for (const signal of [...this.watched.keys()]) this.unwatch(signal);
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private enqueue(out: Outgoing): void {
    this.sendQueue.push(out);
    if (this.pumpQueued) return;
    // Requests made in the same turn (the workers a batch of replies woke) leave in one write:
    // one system call for many, where each call on a loaded machine costs 0.1-0.2 ms.
    this.pumpQueued = true;
    process.nextTick(() => {
      this.pumpQueued = false;
      if (!this.waitingDrain) this.pump();
    });
  }

  private pump(): void {
    this.waitingDrain = false;
    while (this.sendQueue.length && !this.failure) {
      // Corked, every request of the batch is buffered and leaves in one writev on uncork; a
      // request's header and payload are never apart, so nothing can come between them.
      this.socket.cork();
      let batched = 0;
      while (this.sendQueue.length && batched < MAX_WRITE_BATCH) {
        const out = this.sendQueue.shift() as Outgoing;
        if (out.pending) {
          if (out.pending.settled) continue; // given up before it was sent
          out.pending.unsent = false;
        }
        this.socket.write(out.header);
        batched += out.header.length;
        if (out.payload) {
          this.socket.write(out.payload);
          batched += out.payload.length;
        }
      }
      this.socket.uncork();
      if (this.socket.writableNeedDrain) {
        this.waitingDrain = true;
        this.socket.once("drain", () => this.pump());
        return;
      }
    }
  }

  // The reply loop: a state machine the reader calls synchronously as bytes arrive. It takes a
  // reply's fixed parts from a reused header buffer and streams read data straight into the
  // caller's buffer, so a batch of replies that came in one socket read is handled in one call,
  // with no promise per header or payload.
  private onReplyBytes(): void {
    try {
      while (!this.failure) {
        if (this.phase === Phase.Stream) {
          const p = this.current as Pending;
          const target = p.settled ? undefined : p.readBuf;
          const n = target
            ? this.reader.copyInto(target, this.streamAt, this.streamLeft)
            : this.reader.discard(this.streamLeft);
          this.streamAt += n;
          this.streamLeft -= n;
          if (this.streamLeft > 0) return;
          p.covered += this.streamAt - this.streamStart;
          this.endOfReply(p);
          continue;
        }
        const bytes = this.reader.readSync(this.need);
        if (!bytes) return;
        switch (this.phase) {
          case Phase.Head:
            bytes.copy(this.head, 0, 0, SIMPLE_REPLY_SIZE);
            if (replyKind(this.head) === "simple") this.onSimpleReply();
            else this.expect(Phase.ChunkTail, STRUCTURED_REPLY_SIZE - SIMPLE_REPLY_SIZE);
            break;
          case Phase.ChunkTail:
            bytes.copy(this.head, SIMPLE_REPLY_SIZE, 0, STRUCTURED_REPLY_SIZE - SIMPLE_REPLY_SIZE);
            this.onChunkHeader();
            break;
          case Phase.DataOffset:
            this.onDataOffset(bytes);
            break;
          case Phase.Payload:
            this.onChunkPayload(bytes);
            break;
        }
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private expect(phase: Phase, need: number): void {
    this.phase = phase;
    this.need = need;
  }

  /** Read data of `n` bytes follows, for `rel` bytes into the request's buffer. */
  private stream(p: Pending, rel: number, n: number): void {
    this.current = p;
    this.phase = Phase.Stream;
    this.streamStart = this.streamAt = rel;
    this.streamLeft = n;
  }

  /** The reply or chunk in hand is done: finish the request if it was the last, await the next header. */
  private endOfReply(p: Pending): void {
    this.current = null;
    this.expect(Phase.Head, SIMPLE_REPLY_SIZE);
    if (this.chunkFlags & NBD_REPLY_FLAG_DONE) this.finish(p);
  }

  private lookup(cookie: number): Pending {
    const p = this.pending.get(cookie);
    if (!p) throw new Error(`protocol error: reply for unknown cookie ${cookie}`);
    return p;
  }

  private onSimpleReply(): void {
    const error = this.head.readUInt32BE(4);
    const p = this.lookup(readUInt64(this.head, 8));
    this.chunkFlags = NBD_REPLY_FLAG_DONE;
    if (error) {
      p.error = new NbdError(error, p.ctx);
    } else if (p.type === NBD_CMD.READ) {
      if (this.structuredReplies) throw new Error("protocol error: simple reply with data after structured replies");
      return this.stream(p, 0, p.length);
    } else if (p.type === NBD_CMD.BLOCK_STATUS) {
      throw new Error("protocol error: simple reply to BLOCK_STATUS");
    }
    this.endOfReply(p);
  }

  private bad(p: Pending, why: string): Error {
    return new Error(`protocol error in reply to ${p.ctx.command}: ${why}`);
  }

  private onChunkHeader(): void {
    const h = { flags: this.head.readUInt16BE(4), type: this.head.readUInt16BE(6), length: this.head.readUInt32BE(16) };
    const p = this.lookup(readUInt64(this.head, 8));
    this.current = p;
    this.chunkFlags = h.flags;
    this.chunkType = h.type;
    this.chunkLength = h.length;
    switch (h.type) {
      case NBD_REPLY_TYPE.OFFSET_DATA:
        if (p.type !== NBD_CMD.READ || h.length < 9) throw this.bad(p, `OFFSET_DATA of ${h.length} bytes`);
        return this.expect(Phase.DataOffset, 8);
      case NBD_REPLY_TYPE.OFFSET_HOLE:
        if (p.type !== NBD_CMD.READ || h.length !== 12) throw this.bad(p, `OFFSET_HOLE of ${h.length} bytes`);
        return this.expect(Phase.Payload, 12);
      case NBD_REPLY_TYPE.BLOCK_STATUS:
        if (p.type !== NBD_CMD.BLOCK_STATUS || h.length > MAX_CHUNK_PAYLOAD) {
          throw this.bad(p, `BLOCK_STATUS of ${h.length} bytes`);
        }
        return this.expect(Phase.Payload, h.length);
      case NBD_REPLY_TYPE.NONE:
        if (h.length !== 0) throw this.bad(p, `NONE chunk of ${h.length} bytes`);
        return this.endOfReply(p);
      default:
        if (h.length > MAX_CHUNK_PAYLOAD) throw this.bad(p, `chunk type ${h.type} of ${h.length} bytes`);
        return this.expect(Phase.Payload, h.length);
    }
  }

  private onDataOffset(bytes: Buffer): void {
    const p = this.current as Pending;
    const rel = readUInt64(bytes, 0) - p.offset;
    const n = this.chunkLength - 8;
    if (rel < 0 || rel + n > p.length) throw this.bad(p, "data outside the requested range");
    this.stream(p, rel, n);
  }

  /** A chunk's whole payload (hole, block status, error, unknown), valid during this call only. */
  private onChunkPayload(payload: Buffer): void {
    const p = this.current as Pending;
    switch (this.chunkType) {
      case NBD_REPLY_TYPE.OFFSET_HOLE: {
        const rel = readUInt64(payload, 0) - p.offset;
        const n = payload.readUInt32BE(8);
        if (rel < 0 || n === 0 || rel + n > p.length) throw this.bad(p, "hole outside the requested range");
        if (!p.settled && p.readBuf) p.readBuf.fill(0, rel, rel + n);
        p.covered += n;
        break;
      }
      case NBD_REPLY_TYPE.BLOCK_STATUS: {
        const { contextId, extents } = decodeBlockStatusChunk(payload);
        // As libnbd does: extents of a context we did not ask for are ignored, and a list is cut
        // at a zero-length extent (a reply with no progress at all fails the request).
        if (!this.contextNames.has(contextId)) break;
        const cut = extents.findIndex((e) => e.length === 0);
        if (cut === 0) p.error ??= new NbdConnectionError("protocol error: first extent of length 0", p.ctx);
        else p.status?.set(contextId, cut < 0 ? extents : extents.slice(0, cut));
        break;
      }
      default: {
        if (!isErrorChunk(this.chunkType)) {
          // Unknown non-error chunks cannot be interpreted, and so the request has failed.
          p.error ??= new NbdConnectionError(`unknown reply chunk type ${this.chunkType}`, p.ctx);
          break;
        }
        const e = decodeErrorChunk(this.chunkType, payload);
        const errorOffset = e.offset === undefined ? undefined : Number(e.offset);
        p.error ??= new NbdError(e.errno || NBD_ERRNO.EIO, p.ctx, e.message || undefined, errorOffset);
      }
    }
    this.endOfReply(p);
  }

  private finish(p: Pending): void {
    this.forget(p);
    if (p.settled) return;
    p.settled = true;
    this.release(p);
    if (p.error) p.reject(p.error);
    else if (p.type === NBD_CMD.READ && p.covered !== p.length) {
      p.reject(new NbdConnectionError(`protocol error: the server sent ${p.covered} of ${p.length} bytes`, p.ctx));
    } else p.resolve();
  }

  private fail(cause: unknown): void {
    if (this.failure) return;
    const reason =
      this.closing && (!(cause instanceof Error) || /closed by the server/.test(cause.message))
        ? "connection closed by the client"
        : cause instanceof Error
          ? cause.message
          : String(cause);
    this.failure = new NbdConnectionError(reason, undefined, { cause });
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.sendQueue = [];
    for (const p of pending) {
      this.release(p);
      if (p.settled) continue;
      p.settled = true;
      p.reject(new NbdConnectionError(reason, p.ctx, { cause }));
    }
    for (const signal of [...this.watched.keys()]) this.unwatch(signal);
    for (const wake of this.idleWaiters.splice(0)) wake();
    this.socket.destroy();
    this.emit("close", this.closing ? undefined : this.failure);
  }
}
