// Exact-length reads from a stream socket. NBD is a sequence of fixed headers and
// length-prefixed payloads, so the handshake and the reply loop both want "the next N bytes"
// rather than "whatever arrived". One reader per socket; a TLS upgrade detaches it from the
// raw socket and a new one reads the TLS socket.
//
// Two ways in: a stream's 'data' events (every chunk a fresh Buffer, kept as is), or `feed()`
// from a socket that reads into one reused buffer (`net.connect`'s `onread`): those bytes are
// only valid during the call, so what is still unread when it returns is copied (a few header
// bytes, since a consumer reads synchronously within the call). Two ways out: promises
// (`read`, `readInto`: the handshake) or a consumer called synchronously whenever bytes
// arrive, which takes what it can with `readSync`/`copyInto`/`discard` (the reply loop).
import type { Duplex } from "node:stream";

export type Consumer = {
  /** Bytes arrived: take what can be taken now (synchronously). */
  onData: () => void;
  /** The stream ended or failed; called once, after `onData` saw every byte that came. */
  onEnd: (error: unknown) => void;
};

type Waiter = {
  need: number;
  into?: { buf: Buffer; at: number };
  resolve: (b: Buffer) => void;
  reject: (e: unknown) => void;
};

/** Above this much unread data the socket is paused, so a slow consumer bounds memory. */
const HIGH_WATER = 16 * 1024 * 1024;

export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: Waiter | null = null;
  private failure: unknown = null;
  private paused = false;
  private consumer: Consumer | null = null;
  /** The reused buffer `feed()` is given: chunks that are views of it are copied before it returns. */
  private borrowed: ArrayBufferLike | null = null;
  private readonly onData = (chunk: Buffer) => this.push(chunk);
  private readonly onEnd = () => this.fail(new Error("connection closed by the server"));
  private readonly onError = (e: Error) => this.fail(e);

  /** `fed`: the stream's bytes come through `feed()` (a socket made with `onread`), not 'data'. */
  constructor(
    private readonly stream: Duplex,
    { fed = false }: { fed?: boolean } = {},
  ) {
    if (!fed) stream.on("data", this.onData);
    stream.on("end", this.onEnd);
    stream.on("close", this.onEnd);
    stream.on("error", this.onError);
  }

  /** Stop reading this stream (before handing the socket to TLS). Unread bytes are an error. */
  detach(): void {
    this.stream.off("data", this.onData);
    this.stream.off("end", this.onEnd);
    this.stream.off("close", this.onEnd);
    this.stream.off("error", this.onError);
    if (this.buffered > 0) throw new Error(`${this.buffered} unexpected bytes before the TLS handshake`);
  }

  get error(): unknown {
    return this.failure;
  }

  /** Bytes received and not yet taken. */
  get available(): number {
    return this.buffered;
  }

  /** `n` bytes read into a socket's reused buffer (`onread`); `buf` may be overwritten once this returns. */
  feed(n: number, buf: Buffer): void {
    if (n <= 0) return;
    this.borrowed = buf.buffer;
    this.push(buf.subarray(0, n));
    this.borrowed = null;
    for (let i = 0; i < this.chunks.length; i += 1) {
      if (this.chunks[i].buffer === buf.buffer) this.chunks[i] = Buffer.from(this.chunks[i]);
    }
  }

  /**
   * From now on every arrival calls `consumer.onData` synchronously (and the end `onEnd`), in
   * place of promises; bytes already here are offered at once. No read may be waiting.
   */
  consume(consumer: Consumer): void {
    if (this.waiter) throw new Error("ByteReader: consume() while a read waits");
    this.consumer = consumer;
    this.maybeResume();
    if (this.buffered > 0) consumer.onData();
    if (this.failure) consumer.onEnd(this.failure);
  }

  /** The next `n` bytes if they are all here (else null, nothing taken); valid until the next call. */
  readSync(n: number): Buffer | null {
    if (this.buffered < n) return null;
    return n === 0 ? Buffer.alloc(0) : this.take(n);
  }

  /** Up to `n` of the bytes here copied into `buf` at `at`; how many. */
  copyInto(buf: Buffer, at: number, n: number): number {
    return this.copyOut({ buf, at }, n);
  }

  /** Up to `n` of the bytes here dropped; how many. */
  discard(n: number): number {
    let dropped = 0;
    while (dropped < n && this.chunks.length) {
      const k = Math.min(this.chunks[0].length, n - dropped);
      this.consumeHead(k);
      dropped += k;
    }
    return dropped;
  }

  /** The next `n` bytes, as a new Buffer (a view when it lies within one received chunk). */
  read(n: number): Promise<Buffer> {
    if (this.waiter) throw new Error("ByteReader: concurrent reads");
    if (n === 0) return Promise.resolve(Buffer.alloc(0));
    if (this.buffered >= n) return Promise.resolve(this.take(n));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { need: n, resolve, reject };
      this.maybeResume();
    });
  }

  /** The next `n` bytes copied into `buf` at `at`, without an intermediate Buffer. */
  readInto(buf: Buffer, at: number, n: number): Promise<void> {
    if (this.waiter) throw new Error("ByteReader: concurrent reads");
    const into = { buf, at };
    const copied = this.copyOut(into, n);
    if (copied === n) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { need: n - copied, into, resolve: () => resolve(), reject };
      this.maybeResume();
    });
  }

  /** Discard `n` bytes (a reply nobody waits for any more). */
  async skip(n: number): Promise<void> {
    const step = 1024 * 1024;
    for (let left = n; left > 0; left -= Math.min(left, step)) await this.read(Math.min(left, step));
  }

  private push(chunk: Buffer): void {
    const w = this.waiter;
    if (w?.into && this.buffered === 0) {
      // Straight into the caller's buffer: large read payloads are copied once.
      const n = Math.min(w.need, chunk.length);
      chunk.copy(w.into.buf, w.into.at, 0, n);
      w.into.at += n;
      w.need -= n;
      if (n < chunk.length) this.enqueue(chunk.subarray(n));
    } else {
      this.enqueue(chunk);
    }
    this.settle();
  }

  private enqueue(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    // A consumer takes bytes as they come and waits only for a whole bounded payload: never paused.
    if (this.buffered > HIGH_WATER && !this.paused && !this.consumer) {
      this.paused = true;
      this.stream.pause();
    }
  }

  private settle(): void {
    if (this.consumer) return this.consumer.onData();
    const w = this.waiter;
    if (!w) return;
    if (w.into) {
      w.need -= this.copyOut(w.into, w.need);
      if (w.need > 0) return;
      this.waiter = null;
      w.resolve(Buffer.alloc(0));
    } else if (this.buffered >= w.need) {
      this.waiter = null;
      w.resolve(this.take(w.need));
    }
  }

  private maybeResume(): void {
    if (this.paused) {
      this.paused = false;
      this.stream.resume();
    }
  }

  private copyOut(into: { buf: Buffer; at: number }, n: number): number {
    let copied = 0;
    while (copied < n && this.chunks.length) {
      const head = this.chunks[0];
      const k = Math.min(head.length, n - copied);
      head.copy(into.buf, into.at, 0, k);
      into.at += k;
      copied += k;
      this.consumeHead(k);
    }
    return copied;
  }

  private take(n: number): Buffer {
    const head = this.chunks[0];
    // A view of a fed buffer would change under a reader that keeps it past this turn.
    if (head.length >= n && head.buffer !== this.borrowed) {
      const out = head.subarray(0, n);
      this.consumeHead(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    this.copyOut({ buf: out, at: 0 }, n);
    return out;
  }

  private consumeHead(k: number): void {
    const head = this.chunks[0];
    if (k === head.length) this.chunks.shift();
    else this.chunks[0] = head.subarray(k);
    this.buffered -= k;
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error;
    if (this.consumer) return this.consumer.onEnd(error);
    const w = this.waiter;
    // Bytes still buffered are served first; only a read that cannot complete fails.
    if (w) {
      this.waiter = null;
      w.reject(this.failure);
    }
  }
}
